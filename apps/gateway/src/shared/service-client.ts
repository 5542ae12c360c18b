import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_REQUEST_TIMEOUT_MS, GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps.js';

/** Asks a service over NATS with the gateway's timeout; its errors reach `HttpErrorFilter` unchanged. */
@Injectable()
export class ServiceClient {
  private readonly timeoutMs: number;

  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {
    this.timeoutMs = deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** @param timeoutMs overrides the gateway's `requestTimeoutMs` for slow operations */
  request<TReq, TRes>(subject: string, payload: TReq, timeoutMs = this.timeoutMs): Promise<TRes> {
    return this.deps.bus.request<TReq, TRes>(subject, payload, { timeoutMs });
  }
}

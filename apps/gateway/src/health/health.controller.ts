import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { Queries } from '@hotswap/contracts';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps.js';
import { Public } from '../auth/roles.js';

/** How long each readiness check may take, in milliseconds. */
export const READINESS_TIMEOUT_MS = 1_000;

export interface ReadinessReport {
  readonly status: 'ready';
  readonly nats: 'connected';
  /** `ok` per service asked. */
  readonly services: Record<string, string>;
}

@Controller()
@Public()
export class HealthController {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  /** Liveness: the process serves HTTP. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: NATS answers a round trip and every service answers its health query. */
  @Get('readyz')
  async readyz(): Promise<ReadinessReport> {
    const [nats, ...answers] = await Promise.all([
      this.checkNats(),
      ...(this.deps.serviceNames ?? []).map((service) => this.checkService(service)),
    ]);
    const services = Object.fromEntries((this.deps.serviceNames ?? []).map((service, i) => [service, answers[i]]));
    const failed = [
      ...(nats === 'connected' ? [] : [`nats (${nats})`]),
      ...Object.entries(services).filter(([, state]) => state !== 'ok').map(([service, state]) => `${service} (${state})`),
    ];
    if (failed.length > 0) {
      throw new ServiceUnavailableException({
        message: `not ready: ${failed.join(', ')}`,
        details: { nats, services },
      });
    }
    return { status: 'ready', nats: 'connected', services };
  }

  private async checkNats(): Promise<string> {
    const connection = this.deps.bus.connection;
    if (connection.isClosed()) return 'closed';
    if (connection.isDraining()) return 'draining';
    // A flush is a round trip to the server; while reconnecting it waits, so it is bounded.
    const outcome = await withTimeout(connection.flush().then(
      () => 'connected',
      (error: Error) => `flush failed: ${error.message}`,
    ), READINESS_TIMEOUT_MS);
    return outcome ?? `no answer within ${READINESS_TIMEOUT_MS} ms`;
  }

  private async checkService(service: NonNullable<GatewayDeps['serviceNames']>[number]): Promise<string> {
    try {
      await this.deps.bus.request(Queries.health(service), {}, { timeoutMs: READINESS_TIMEOUT_MS });
      return 'ok';
    } catch (error) {
      return (error as Error).message;
    }
  }
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

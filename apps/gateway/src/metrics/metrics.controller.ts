import { Controller, Get, Header, Inject, NotFoundException } from '@nestjs/common';
import { PROMETHEUS_CONTENT_TYPE } from '@hotswap/infrastructure';
import { Public } from '../auth/roles.js';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps.js';

/**
 * `GET /metrics`: the Prometheus text of the gateway's metrics handle. In the embedded default
 * every service records into that one handle, so it holds the fleet-wide figures. Public, like
 * `/healthz`: scrapers carry no user token; the figures are counts, not data.
 */
@Controller()
@Public()
export class MetricsController {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Get('metrics')
  @Header('content-type', PROMETHEUS_CONTENT_TYPE)
  async metrics(): Promise<string> {
    if (this.deps.metrics === undefined) throw new NotFoundException('metrics are not enabled on this gateway');
    return this.deps.metrics.prometheusText();
  }
}

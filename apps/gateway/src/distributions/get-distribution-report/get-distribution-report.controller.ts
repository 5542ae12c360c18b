import { Controller, Get, Inject, Param } from '@nestjs/common';
import {
  Queries, type AbTestResultView, type ByIdQuery, type DistributionMetricsView, type DistributionStatusView,
} from '@hotswap/contracts';
import { RemoteError } from '@hotswap/infrastructure';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { GATEWAY_DEPS, type GatewayDeps } from '../../gateway-deps.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

/** `GET /api/v1/distributions/{id}/report`: what happened and how the models fared, in one document. */
export interface DistributionReportView {
  readonly id: string;
  /** When the gateway put the report together (ISO 8601). */
  readonly generatedAt: string;
  /** The distributor's view, devices and operator history included. */
  readonly status: DistributionStatusView;
  /** The monitor's figures; null while it holds none for the distribution. */
  readonly metrics: DistributionMetricsView | null;
  /** The A/B comparison of an ABTesting distribution; null for the other strategies. */
  readonly abTest: AbTestResultView | null;
}

@Controller('api/v1/distributions')
export class GetDistributionReportController {
  constructor(
    private readonly services: ServiceClient,
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
  ) {}

  @Get(':id/report')
  @Roles(ANY_ROLE)
  async getDistributionReport(@Param('id', new IdParamPipe('distribution id')) id: string): Promise<DistributionReportView> {
    // Asked together; the distributor's answer decides first, so an unknown id is 404 whatever the monitor says.
    const [status, metrics] = await Promise.allSettled([
      this.services.request<ByIdQuery, DistributionStatusView>(Queries.getDistributionStatus, { id }),
      this.services.request<ByIdQuery, DistributionMetricsView>(Queries.getDistributionMetrics, { id }),
    ]);
    if (status.status === 'rejected') throw status.reason;
    return {
      id,
      generatedAt: this.deps.clock().toISOString(),
      status: status.value,
      metrics: metrics.status === 'fulfilled' ? metrics.value : noMetricsYet(metrics.reason),
      abTest: status.value.abTest ?? null,
    };
  }
}

/** The distribution exists (the distributor said so) but no telemetry reached the monitor yet. */
function noMetricsYet(error: unknown): null {
  if (error instanceof RemoteError && error.code === 'NOT_FOUND') return null;
  throw error;
}

import type { ServerResponse } from 'node:http';
import { Controller, Get, Inject, Param, Query, Res, type OnModuleDestroy } from '@nestjs/common';
import { Queries, type ByIdQuery, type DistributionMetricsView, type DistributionStatusView } from '@hotswap/contracts';
import { AccessTokenInQuery, ANY_ROLE, Roles } from '../../auth/roles.js';
import { GATEWAY_DEPS, type GatewayDeps } from '../../gateway-deps.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';
import { DistributionEventStream, streamTiming, type DistributionSource, type StreamTiming } from './distribution-event-stream.js';

/**
 * `GET /api/v1/distributions/{id}/events`: a live stream (Server-Sent Events) of the status and
 * metrics for the CLI and the dashboard. It polls the distributor's and the monitor's queries, so
 * it needs nothing but request/reply and works the same against every gateway replica.
 */
@Controller('api/v1/distributions')
export class StreamDistributionEventsController implements OnModuleDestroy {
  private readonly open = new Set<DistributionEventStream>();
  private readonly timing: StreamTiming;
  private readonly source: DistributionSource;

  constructor(services: ServiceClient, @Inject(GATEWAY_DEPS) deps: GatewayDeps) {
    this.timing = streamTiming(deps.distributionEvents);
    this.source = {
      status: (id) => services.request<ByIdQuery, DistributionStatusView>(Queries.getDistributionStatus, { id }),
      metrics: (id) => services.request<ByIdQuery, DistributionMetricsView>(Queries.getDistributionMetrics, { id }),
    };
  }

  @Get(':id/events')
  @Roles(ANY_ROLE)
  @AccessTokenInQuery()
  async streamDistributionEvents(
    @Param('id', new IdParamPipe('distribution id')) id: string,
    @Res() response: ServerResponse,
    // Read by AuthGuard (EventSource cannot send headers); declared so the API document lists it.
    @Query('access_token') _accessToken?: string,
  ): Promise<void> {
    // Read once before answering, so an unknown id or an absent distributor is a plain JSON error.
    const first = await this.source.status(id);
    const stream = new DistributionEventStream(id, response, this.source, this.timing);
    this.open.add(stream);
    void stream.done.then(() => this.open.delete(stream));
    stream.start(first);
  }

  /** Open streams would keep `app.close()` waiting for their clients. */
  onModuleDestroy(): void {
    for (const stream of this.open) stream.close();
  }
}

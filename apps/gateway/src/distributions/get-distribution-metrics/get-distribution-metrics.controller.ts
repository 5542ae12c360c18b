import { Controller, Get, Param } from '@nestjs/common';
import { Queries, type ByIdQuery, type DistributionMetricsView } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

/** Served by the monitor: per group and model version, the baseline and a time series. */
@Controller('api/v1/distributions')
export class GetDistributionMetricsController {
  constructor(private readonly services: ServiceClient) {}

  @Get(':id/metrics')
  @Roles(ANY_ROLE)
  getDistributionMetrics(@Param('id', new IdParamPipe('distribution id')) id: string): Promise<DistributionMetricsView> {
    return this.services.request<ByIdQuery, DistributionMetricsView>(Queries.getDistributionMetrics, { id });
  }
}

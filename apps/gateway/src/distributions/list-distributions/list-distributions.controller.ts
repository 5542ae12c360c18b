import { Controller, Get, Query } from '@nestjs/common';
import { ListDistributionsQueryDto, Queries, type DistributionStatusView, type Page } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { ServiceClient } from '../../shared/service-client.js';

/** What `Queries.listDistributions` takes (the query string, paging as numbers). */
type ListDistributionsQuery = Pick<ListDistributionsQueryDto, 'status' | 'modelId' | 'limit' | 'offset'>;

/** A distribution as listed: its status view without the per-device rows. */
export type DistributionSummaryView = Omit<DistributionStatusView, 'devices'>;

@Controller('api/v1/distributions')
export class ListDistributionsController {
  constructor(private readonly services: ServiceClient) {}

  @Get()
  @Roles(ANY_ROLE)
  listDistributions(@Query() query: ListDistributionsQueryDto): Promise<Page<DistributionSummaryView>> {
    return this.services.request<ListDistributionsQuery, Page<DistributionSummaryView>>(Queries.listDistributions, { ...query });
  }
}

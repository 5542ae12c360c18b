import { Controller, Get, Param, Query } from '@nestjs/common';
import { DistributionDevicesPageDto, Queries, type DistributionStatusQuery, type DistributionStatusView } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/distributions')
export class GetDistributionStatusController {
  constructor(private readonly services: ServiceClient) {}

  @Get(':id/status')
  @Roles(ANY_ROLE)
  getStatus(
    @Param('id', new IdParamPipe('distribution id')) id: string, @Query() page: DistributionDevicesPageDto,
  ): Promise<DistributionStatusView> {
    return this.services.request<DistributionStatusQuery, DistributionStatusView>(Queries.getDistributionStatus, { id, ...page });
  }
}

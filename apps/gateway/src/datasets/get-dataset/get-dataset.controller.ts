import { Controller, Get, Param } from '@nestjs/common';
import { Queries, type ByIdQuery, type DatasetView } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/datasets')
export class GetDatasetController {
  constructor(private readonly services: ServiceClient) {}

  /** A registered dataset's description (inputs, sample count, checksum), without its samples. */
  @Get(':id')
  @Roles(ANY_ROLE)
  getDataset(@Param('id', new IdParamPipe('dataset id')) id: string): Promise<DatasetView> {
    return this.services.request<ByIdQuery, DatasetView>(Queries.getDataset, { id });
  }
}

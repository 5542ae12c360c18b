import { Controller, Get, Param } from '@nestjs/common';
import { Queries, type ByIdQuery, type ModelView } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/models')
export class GetModelController {
  constructor(private readonly services: ServiceClient) {}

  @Get(':id')
  @Roles(ANY_ROLE)
  getModel(@Param('id', new IdParamPipe('model id')) id: string): Promise<ModelView> {
    return this.services.request<ByIdQuery, ModelView>(Queries.getModel, { id });
  }
}

import { Controller, Get, Query } from '@nestjs/common';
import { ListModelsQueryDto, Queries, type ListModelsQuery, type ModelView, type Page } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/models')
export class ListModelsController {
  constructor(private readonly services: ServiceClient) {}

  @Get()
  @Roles(ANY_ROLE)
  listModels(@Query() query: ListModelsQueryDto): Promise<Page<ModelView>> {
    return this.services.request<ListModelsQuery, Page<ModelView>>(Queries.listModels, { ...query });
  }
}

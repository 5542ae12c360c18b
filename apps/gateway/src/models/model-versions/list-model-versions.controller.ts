import { Controller, Get, Param } from '@nestjs/common';
import { Queries, type ListModelVersionsQuery, type ModelVersionsView, type ModelVersionQuery, type ModelView } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { ServiceClient } from '../../shared/service-client.js';
import { ModelNameParamPipe, VersionParamPipe } from './version-params.js';

/** The version history of a model name (`{id}` in API.md is the name here). */
@Controller('api/v1/models')
export class ListModelVersionsController {
  constructor(private readonly services: ServiceClient) {}

  /** Every version, newest by semver first, each with its status and upload time; 404 when there is none. */
  @Get(':name/versions')
  @Roles(ANY_ROLE)
  listVersions(@Param('name', ModelNameParamPipe) name: string): Promise<ModelVersionsView> {
    return this.services.request<ListModelVersionsQuery, ModelVersionsView>(Queries.listModelVersions, { name });
  }

  @Get(':name/versions/:version')
  @Roles(ANY_ROLE)
  getVersion(
    @Param('name', ModelNameParamPipe) name: string,
    @Param('version', VersionParamPipe) version: string,
  ): Promise<ModelView> {
    return this.services.request<ModelVersionQuery, ModelView>(Queries.getModelVersion, { name, version });
  }
}

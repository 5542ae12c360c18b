import { Controller, Delete, Param } from '@nestjs/common';
import { Commands, type ModelVersionCommand, type ModelVersionDeletedReply } from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { ServiceClient } from '../../shared/service-client.js';
import { ModelNameParamPipe, VersionParamPipe, VERSION_COMMAND_TIMEOUT_MS } from './version-params.js';

@Controller('api/v1/models')
export class DeleteModelVersionController {
  constructor(private readonly services: ServiceClient) {}

  /** Erases the version and its artifact; 409 while a device runs it or an active distribution uses it. */
  @Delete(':name/versions/:version')
  @Roles(['Admin'])
  deleteVersion(
    @Param('name', ModelNameParamPipe) name: string,
    @Param('version', VersionParamPipe) version: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ModelVersionDeletedReply> {
    return this.services.request<ModelVersionCommand, ModelVersionDeletedReply>(
      Commands.deleteModelVersion, { actor: principal.subject, name, version }, VERSION_COMMAND_TIMEOUT_MS,
    );
  }
}

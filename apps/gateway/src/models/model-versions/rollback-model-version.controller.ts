import { Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { Commands, type CreatedReply, type ModelVersionCommand } from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { ServiceClient } from '../../shared/service-client.js';
import { ModelNameParamPipe, VersionParamPipe, VERSION_COMMAND_TIMEOUT_MS } from './version-params.js';

@Controller('api/v1/models')
export class RollbackModelVersionController {
  constructor(private readonly services: ServiceClient) {}

  /**
   * Accepted, not done: a Direct distribution of the version to every device running another
   * version of the name; poll `GET /api/v1/distributions/{id}/status`.
   */
  @Post(':name/versions/:version/rollback')
  @HttpCode(HttpStatus.ACCEPTED)
  @Roles(['Admin', 'Operator'])
  async rollback(
    @Param('name', ModelNameParamPipe) name: string,
    @Param('version', VersionParamPipe) version: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CreatedReply> {
    const { id, status } = await this.services.request<ModelVersionCommand, CreatedReply>(
      Commands.rollbackModelVersion, { actor: principal.subject, name, version }, VERSION_COMMAND_TIMEOUT_MS,
    );
    return { id, status };
  }
}

import { Body, Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { Commands, DeprecateModelVersionDto, type DeprecateModelVersionCommand, type ModelView } from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { ServiceClient } from '../../shared/service-client.js';
import { ModelNameParamPipe, VersionParamPipe } from './version-params.js';

@Controller('api/v1/models')
export class DeprecateModelVersionController {
  constructor(private readonly services: ServiceClient) {}

  /** The version becomes `Deprecated`: still listed, no longer distributable. Answers the updated version. */
  @Post(':name/versions/:version/deprecate')
  @HttpCode(HttpStatus.OK)
  @Roles(['Admin', 'ModelDeveloper'])
  deprecate(
    @Param('name', ModelNameParamPipe) name: string,
    @Param('version', VersionParamPipe) version: string,
    @Body() body: DeprecateModelVersionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ModelView> {
    return this.services.request<DeprecateModelVersionCommand, ModelView>(Commands.deprecateModelVersion, {
      actor: principal.subject, name, version, ...(body?.reason !== undefined ? { reason: body.reason } : {}),
    });
  }
}

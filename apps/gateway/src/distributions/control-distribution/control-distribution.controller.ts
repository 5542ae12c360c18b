import { Body, Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import {
  Commands, DistributionVerbDto, type ControlDistributionCommand, type DistributionStatusView, type DistributionVerb,
} from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

const distributionId = () => new IdParamPipe('distribution id');

/**
 * The operator verbs, `POST /api/v1/distributions/{id}/<verb>` with an optional `{ reason }`: one
 * route per verb, so an unknown verb is no route (404). The distributor answers with the
 * distribution's status after the verb; a verb the status does not allow is its 409.
 */
@Controller('api/v1/distributions')
@Roles(['Admin', 'Operator'])
export class ControlDistributionController {
  constructor(private readonly services: ServiceClient) {}

  @Post(':id/pause') @HttpCode(HttpStatus.OK)
  pauseDistribution(@Param('id', distributionId()) id: string, @Body() body: DistributionVerbDto, @CurrentPrincipal() principal: Principal) {
    return this.control(id, 'pause', body, principal);
  }

  @Post(':id/resume') @HttpCode(HttpStatus.OK)
  resumeDistribution(@Param('id', distributionId()) id: string, @Body() body: DistributionVerbDto, @CurrentPrincipal() principal: Principal) {
    return this.control(id, 'resume', body, principal);
  }

  /** Lets a wave waiting for approval (a stage, or targets tagged `production`) start; the approver is recorded. */
  @Post(':id/approve') @HttpCode(HttpStatus.OK)
  approveDistribution(@Param('id', distributionId()) id: string, @Body() body: DistributionVerbDto, @CurrentPrincipal() principal: Principal) {
    return this.control(id, 'approve', body, principal);
  }

  @Post(':id/cancel') @HttpCode(HttpStatus.OK)
  cancelDistribution(@Param('id', distributionId()) id: string, @Body() body: DistributionVerbDto, @CurrentPrincipal() principal: Principal) {
    return this.control(id, 'cancel', body, principal);
  }

  @Post(':id/rollback') @HttpCode(HttpStatus.OK)
  rollbackDistribution(@Param('id', distributionId()) id: string, @Body() body: DistributionVerbDto, @CurrentPrincipal() principal: Principal) {
    return this.control(id, 'rollback', body, principal);
  }

  /** Skips the rest of the current wave's observation. */
  @Post(':id/promote') @HttpCode(HttpStatus.OK)
  promoteDistribution(@Param('id', distributionId()) id: string, @Body() body: DistributionVerbDto, @CurrentPrincipal() principal: Principal) {
    return this.control(id, 'promote', body, principal);
  }

  private control(id: string, verb: DistributionVerb, { reason }: DistributionVerbDto, principal: Principal): Promise<DistributionStatusView> {
    const command: ControlDistributionCommand = { id, verb, actor: principal.subject, ...(reason === undefined ? {} : { reason }) };
    return this.services.request<ControlDistributionCommand, DistributionStatusView>(Commands.controlDistribution, command);
  }
}

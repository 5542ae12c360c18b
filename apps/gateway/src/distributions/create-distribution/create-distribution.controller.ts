import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  Commands, CreateDistributionDto, type CreateDistributionCommand, type CreatedReply,
} from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { ServiceClient } from '../../shared/service-client.js';
import { RateLimited } from '../../rate-limits/rate-limit-rules.js';

@Controller('api/v1/distributions')
export class CreateDistributionController {
  constructor(private readonly services: ServiceClient) {}

  /** Accepted, not done: the rollout runs on; poll `GET /api/v1/distributions/{id}/status`. */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @RateLimited('createDistribution')
  @Roles(['Admin', 'Operator'])
  async createDistribution(
    @Body() body: CreateDistributionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CreatedReply> {
    const command: CreateDistributionCommand = { ...body, actor: principal.subject };
    const { id, status } = await this.services.request<CreateDistributionCommand, CreatedReply>(
      Commands.createDistribution,
      command,
    );
    return { id, status };
  }
}

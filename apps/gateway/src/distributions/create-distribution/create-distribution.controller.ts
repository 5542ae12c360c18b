import { Body, Controller, HttpCode, HttpStatus, Post, Query, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import {
  Commands, CreateDistributionDto, CreateDistributionQueryDto, Queries,
  type CreateDistributionCommand, type CreatedReply, type DistributionPlanView, type PlanDistributionQuery,
} from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { ServiceClient } from '../../shared/service-client.js';
import { RateLimited } from '../../rate-limits/rate-limit-rules.js';

@Controller('api/v1/distributions')
export class CreateDistributionController {
  constructor(private readonly services: ServiceClient) {}

  /**
   * Accepted, not done: the rollout runs on; poll `GET /api/v1/distributions/{id}/status`. With
   * `?dryRun=true` the distributor only plans it: 200 with the waves and the excluded devices.
   */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @RateLimited('createDistribution')
  @Roles(['Admin', 'Operator'])
  async createDistribution(
    @Body() body: CreateDistributionDto,
    @Query() query: CreateDistributionQueryDto,
    @CurrentPrincipal() principal: Principal,
    // Written by hand: Nest would force the route's 202 onto the dry run's 200.
    @Res() response: ServerResponse,
  ): Promise<void> {
    const command: CreateDistributionCommand = { ...body, actor: principal.subject };
    if (query.dryRun === true) {
      // Nothing is recorded, so nothing is accepted: the plan is the whole answer.
      const plan = await this.services.request<PlanDistributionQuery, DistributionPlanView>(Queries.planDistribution, command);
      sendJson(response, HttpStatus.OK, plan);
      return;
    }
    const { id, status } = await this.services.request<CreateDistributionCommand, CreatedReply>(
      Commands.createDistribution,
      command,
    );
    sendJson(response, HttpStatus.ACCEPTED, { id, status } satisfies CreatedReply);
  }
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  response.statusCode = statusCode;
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.end(JSON.stringify(body));
}

import { BadRequestException, Controller, HttpCode, Post, Query } from '@nestjs/common';
import { Commands, type ApplyRetentionPolicyCommand, type RetentionReport } from '@hotswap/contracts';
import { CurrentPrincipal } from '../auth/auth.guard.js';
import { Roles } from '../auth/roles.js';
import type { Principal } from '../auth/tokens.js';
import { ServiceClient } from '../shared/service-client.js';

/** Deleting versions one by one (artifact, then event) takes longer than a query. */
const RETENTION_TIMEOUT_MS = 60_000;

@Controller('api/v1/retention')
export class RunRetentionPolicyController {
  constructor(private readonly services: ServiceClient) {}

  /** Applies the retention policy now; `?dryRun=true` only lists what it would delete and why the rest is kept. */
  @Post('run')
  @HttpCode(200)
  @Roles(['Admin'])
  run(@Query('dryRun') dryRun: string | undefined, @CurrentPrincipal() principal: Principal): Promise<RetentionReport> {
    if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false') {
      throw new BadRequestException({ message: `dryRun must be true or false, got ${JSON.stringify(dryRun)}`, details: { properties: ['dryRun'] } });
    }
    return this.services.request<ApplyRetentionPolicyCommand, RetentionReport>(
      Commands.applyRetentionPolicy, { actor: principal.subject, dryRun: dryRun === 'true' }, RETENTION_TIMEOUT_MS,
    );
  }
}

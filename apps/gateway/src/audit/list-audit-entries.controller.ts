import { Controller, Get, Query } from '@nestjs/common';
import { AuditQueryDto, Queries, type AuditPage, type AuditQuery } from '@hotswap/contracts';
import { Roles } from '../auth/roles.js';
import { ServiceClient } from '../shared/service-client.js';

@Controller('api/v1/audit')
export class ListAuditEntriesController {
  constructor(private readonly services: ServiceClient) {}

  /** Who did what, when, to which resource, under which trace: the event store's history, newest first. */
  @Get()
  @Roles(['Admin', 'Operator'])
  listAuditEntries(@Query() query: AuditQueryDto): Promise<AuditPage> {
    return this.services.request<AuditQuery, AuditPage>(Queries.listAuditEntries, { ...query });
  }
}

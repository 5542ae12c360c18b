import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AuditQueryDto, Queries, queueGroup, Services, type AuditQuery } from '@hotswap/contracts';
import { SERVICE_RUNTIME, validateWith, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { AuditLogReadModel } from './audit-log.read-model.js';

/** `list-audit-entries`: the audit trail, filtered and paged. */
@Injectable()
export class AuditQueriesHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly auditLog: AuditLogReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Queries.listAuditEntries, {
      queue: queueGroup(Services.monitor),
      validate: validateWith(AuditQueryDto) as (payload: unknown) => Promise<ValidationResult<AuditQuery>>,
      handler: (query) => this.auditLog.list(query),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }
}

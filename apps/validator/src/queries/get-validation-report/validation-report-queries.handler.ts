import { Injectable, Inject, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queries, queueGroup, Services, type ValidationReportView } from '@hotswap/contracts';
import { NotFoundError } from '@hotswap/domain';
import { closeAll, SERVICE_RUNTIME, serveHealth, validateById, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';
import { ValidationReports } from '../../projections/validation-reports/validation-reports.read-model.js';

/** `get-validation-report` (NOT_FOUND naming the model when it is unknown or has no report) and health. */
@Injectable()
export class ValidationReportQueriesHandler implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime, private readonly reports: ValidationReports) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.validator);
    this.subscriptions = await Promise.all([
      this.runtime.bus.handle(Queries.getValidationReport, {
        queue, validate: validateById,
        handler: async ({ id }): Promise<ValidationReportView> => {
          const report = await this.reports.report(id);
          if (report === undefined) throw new NotFoundError(`model ${id} not found`);
          if (report === null) throw new NotFoundError(`model ${id} has no validation report yet`);
          return report;
        },
      }),
      serveHealth(this.runtime.bus, Queries.health(Services.validator), queue),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

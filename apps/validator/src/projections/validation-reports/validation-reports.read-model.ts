import { Inject, Injectable } from '@nestjs/common';
import type { ValidationReportView } from '@hotswap/contracts';
import { ProjectedReadModel, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { ValidationWorker } from '../../pipeline/validation-worker.js';
import { parseReport, validationReportsProjection, type ReportRow } from './validation-reports.projection.js';

/** Projects validation events into `validator_reports`, answers reports, and hands uploads to the worker. */
@Injectable()
export class ValidationReports extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime, private readonly worker: ValidationWorker) {
    super(runtime, validationReportsProjection(
      (modelId) => worker.validateUpload(modelId),
      (modelId, validationId, startedAt) => worker.checkStartedRun(modelId, validationId, startedAt),
    ));
  }

  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    // Uploads recorded before a crash whose validation never started.
    const { rows } = await this.runtime.db.query<{ model_id: string }>('SELECT model_id FROM validator_reports WHERE pending');
    for (const { model_id } of rows) this.worker.validateUpload(model_id);
    // Runs an earlier validator left going; the projection will not replay their start.
    const running = await this.runtime.db.query<ReportRow>("SELECT * FROM validator_reports WHERE report->>'status' = 'Running'");
    for (const row of running.rows) {
      const report = parseReport(row.report);
      if (report) this.worker.checkStartedRun(row.model_id, report.validationId, report.startedAt);
    }
  }

  /** `undefined` when the model is unknown here; `null` when it has no report yet. */
  async report(modelId: string): Promise<ValidationReportView | null | undefined> {
    const row = (await this.runtime.db.query<ReportRow>('SELECT * FROM validator_reports WHERE model_id = $1', [modelId])).rows[0];
    return row && parseReport(row.report);
  }
}

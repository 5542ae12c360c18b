import type { Framework, ModelEvent, ValidationReportView } from '@hotswap/contracts';
import { validationReport } from '@hotswap/domain';
import type { Projection, SqlExecutor, StoredEvent } from '@hotswap/infrastructure';

export interface ReportRow {
  model_id: string;
  framework: Framework;
  sha256: string;
  pending: boolean;
  report: ValidationReportView | string | null;
}

export const parseReport = (report: ReportRow['report']): ValidationReportView | null =>
  typeof report === 'string' ? (JSON.parse(report) as ValidationReportView) : report;

/**
 * The validator's read model: per model, whether its first validation is still pending and the
 * report of its latest run (Running while steps arrive, then the recorded verdict). It is also the
 * upload reactor: `onUploaded` is called for each `ModelUploaded` the projection applies; the row's
 * `pending` flag lets a restart pick up uploads whose validation never started. `onRunStarted` is
 * called for each run start, so runs a dead validator left behind can be found.
 */
export function validationReportsProjection(
  onUploaded: (modelId: string) => void,
  onRunStarted: (modelId: string, validationId: string, startedAt: string) => void = () => undefined,
): Projection {
  return {
    name: 'validator.reports',
    eventTypes: ['ModelUploaded', 'ModelValidationStarted', 'ModelValidationStepRecorded', 'ModelValidated', 'ModelRejected', 'ModelVersionDeleted'],
    migrations: [
      `CREATE TABLE IF NOT EXISTS validator_reports (
         model_id text PRIMARY KEY,
         framework text NOT NULL,
         sha256 text NOT NULL,
         pending boolean NOT NULL,
         report jsonb
       )`,
    ],
    async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
      for (const stored of events) {
        const event = { type: stored.type, data: stored.data } as ModelEvent;
        switch (event.type) {
          case 'ModelUploaded': {
            const { modelId, framework, sha256 } = event.data;
            await tx.query(
              // A re-upload after a delete starts afresh: new bytes, no report yet.
              `INSERT INTO validator_reports (model_id, framework, sha256, pending, report) VALUES ($1, $2, $3, true, NULL)
               ON CONFLICT (model_id) DO UPDATE SET framework = $2, sha256 = $3, pending = true, report = NULL`,
              [modelId, framework, sha256],
            );
            onUploaded(modelId);
            break;
          }
          case 'ModelValidationStarted': {
            const row = await rowOf(tx, event.data.modelId);
            if (!row) break;
            const { modelId, validationId, thresholds, ranOn, at } = event.data;
            const report = validationReport({ modelId, validationId, framework: row.framework, expectedSha256: row.sha256, thresholds, steps: [], ranOn, startedAt: at });
            await save(tx, modelId, report);
            onRunStarted(modelId, validationId, at);
            break;
          }
          case 'ModelValidationStepRecorded': {
            const row = await rowOf(tx, event.data.modelId);
            const current = row && parseReport(row.report);
            if (!row || !current || current.validationId !== event.data.validationId) break;
            await save(tx, row.model_id, validationReport({
              modelId: row.model_id, validationId: current.validationId, framework: row.framework, expectedSha256: row.sha256,
              thresholds: current.thresholds, steps: [...current.steps, event.data.result], ranOn: current.ranOn, startedAt: current.startedAt,
            }));
            break;
          }
          case 'ModelValidated':
          case 'ModelRejected':
            await save(tx, event.data.modelId, event.data.report);
            break;
          case 'ModelVersionDeleted':
            await tx.query('DELETE FROM validator_reports WHERE model_id = $1', [event.data.modelId]);
            break;
          default:
            break;
        }
      }
    },
  };
}

async function rowOf(tx: SqlExecutor, modelId: string): Promise<ReportRow | undefined> {
  return (await tx.query<ReportRow>('SELECT * FROM validator_reports WHERE model_id = $1', [modelId])).rows[0];
}

async function save(tx: SqlExecutor, modelId: string, report: ValidationReportView): Promise<void> {
  await tx.query('UPDATE validator_reports SET pending = false, report = $2 WHERE model_id = $1', [modelId, JSON.stringify(report)]);
}

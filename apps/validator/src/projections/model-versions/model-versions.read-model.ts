import { Inject, Injectable } from '@nestjs/common';
import type { ModelEvent } from '@hotswap/contracts';
import { compareSemver } from '@hotswap/domain';
import { ProjectedReadModel, SERVICE_RUNTIME, type Projection, type ServiceRuntime, type SqlExecutor, type StoredEvent } from '@hotswap/infrastructure';

/**
 * `validator_model_versions`: name, version and validation status of every model, so the accuracy
 * step can find its baseline. Only the validation events move the status; whether a candidate is
 * still Validated (not deprecated or deleted since) is checked on its stream before it is used.
 */
export const modelVersionsProjection: Projection = {
  name: 'validator.model-versions',
  eventTypes: ['ModelUploaded', 'ModelValidationStarted', 'ModelValidated', 'ModelRejected'],
  migrations: [
    `CREATE TABLE IF NOT EXISTS validator_model_versions (
       model_id text PRIMARY KEY,
       name text NOT NULL,
       version text NOT NULL,
       status text NOT NULL
     )`,
    'CREATE INDEX IF NOT EXISTS validator_model_versions_name ON validator_model_versions (name, status)',
  ],
  async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const stored of events) {
      const event = { type: stored.type, data: stored.data } as ModelEvent;
      const status = event.type === 'ModelUploaded' ? 'Uploaded'
        : event.type === 'ModelValidationStarted' ? 'Validating'
          : event.type === 'ModelValidated' ? 'Validated'
            : event.type === 'ModelRejected' ? 'Rejected' : undefined;
      if (status === undefined) continue;
      if (event.type === 'ModelUploaded') {
        await tx.query(
          `INSERT INTO validator_model_versions (model_id, name, version, status) VALUES ($1, $2, $3, $4)
           ON CONFLICT (model_id) DO NOTHING`,
          [event.data.modelId, event.data.name, event.data.version, status],
        );
      } else {
        await tx.query('UPDATE validator_model_versions SET status = $2 WHERE model_id = $1', [event.data.modelId, status]);
      }
    }
  },
};

@Injectable()
export class ModelVersions extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime) {
    super(runtime, modelVersionsProjection);
  }

  /** The Validated versions of `name` other than `exceptModelId`, highest semver first. */
  async validatedVersions(name: string, exceptModelId: string): Promise<string[]> {
    const { rows } = await this.runtime.db.query<{ model_id: string; version: string }>(
      "SELECT model_id, version FROM validator_model_versions WHERE name = $1 AND status = 'Validated' AND model_id <> $2",
      [name, exceptModelId],
    );
    return rows.sort((a, b) => compareSemver(b.version, a.version)).map((r) => r.model_id);
  }
}

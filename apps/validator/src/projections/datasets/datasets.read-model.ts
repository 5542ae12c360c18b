import { Inject, Injectable } from '@nestjs/common';
import type { DatasetEvent, DatasetRegistered, DatasetView } from '@hotswap/contracts';
import { ProjectedReadModel, SERVICE_RUNTIME, type Projection, type ServiceRuntime, type SqlExecutor, type StoredEvent } from '@hotswap/infrastructure';

interface DatasetRow {
  id: string;
  registered: DatasetRegistered['data'] | string;
  registered_by: string;
}

/** `validator_datasets`: one row per registered dataset, the `DatasetRegistered` data and who registered it. */
export const datasetsProjection: Projection = {
  name: 'validator.datasets',
  eventTypes: ['DatasetRegistered'],
  migrations: [
    `CREATE TABLE IF NOT EXISTS validator_datasets (
       id text PRIMARY KEY,
       registered jsonb NOT NULL,
       registered_by text NOT NULL
     )`,
  ],
  async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const stored of events) {
      const event = { type: stored.type, data: stored.data } as DatasetEvent;
      if (event.type !== 'DatasetRegistered') continue;
      await tx.query(
        'INSERT INTO validator_datasets (id, registered, registered_by) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
        [event.data.datasetId, JSON.stringify(event.data), String(stored.metadata?.['actor'] ?? 'unknown')],
      );
    }
  },
};

/** The registered datasets: their views, and where each is stored for the accuracy step. */
@Injectable()
export class Datasets extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime) {
    super(runtime, datasetsProjection);
  }

  /** The `DatasetRegistered` data and its actor, or `undefined` when there is no such dataset. */
  async registered(id: string): Promise<(DatasetRegistered['data'] & { registeredBy: string }) | undefined> {
    const row = (await this.runtime.db.query<DatasetRow>('SELECT * FROM validator_datasets WHERE id = $1', [id])).rows[0];
    if (!row) return undefined;
    const data = typeof row.registered === 'string' ? (JSON.parse(row.registered) as DatasetRegistered['data']) : row.registered;
    return { ...data, registeredBy: row.registered_by };
  }

  async view(id: string): Promise<DatasetView | undefined> {
    const found = await this.registered(id);
    return found && toView(found);
  }
}

export function toView(data: DatasetRegistered['data'] & { registeredBy: string }): DatasetView {
  return {
    id: data.datasetId, name: data.name, task: data.task,
    ...(data.tolerance !== undefined ? { tolerance: data.tolerance } : {}),
    ...(data.output !== undefined ? { output: data.output } : {}),
    inputs: data.inputs, samples: data.samples, sha256: data.sha256, sizeBytes: data.sizeBytes,
    registeredAt: data.registeredAt, registeredBy: data.registeredBy,
  };
}

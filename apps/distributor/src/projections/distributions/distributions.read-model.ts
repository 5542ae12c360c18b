import { Inject, Injectable } from '@nestjs/common';
import type { DistributionEvent, DistributionsUsingModelView } from '@hotswap/contracts';
import { TERMINAL_DISTRIBUTION_STATUSES } from '@hotswap/domain';
import {
  ProjectedReadModel, SERVICE_RUNTIME, type Projection, type ServiceRuntime, type SqlExecutor, type StoredEvent,
} from '@hotswap/infrastructure';

/**
 * Which model each distribution delivers and how far it is: enough for the registry to refuse
 * deleting a model an active distribution uses. A status is folded from the distribution's own
 * stream whenever it is asked for; this table only answers "which ones use model X".
 */
export const distributionsProjection: Projection = {
  name: 'distributor.distributions',
  migrations: [
    `CREATE TABLE IF NOT EXISTS distributor_distributions_by_model (
       id text PRIMARY KEY,
       model_id text NOT NULL,
       status text NOT NULL,
       created_at timestamptz NOT NULL
     )`,
    `CREATE INDEX IF NOT EXISTS distributor_distributions_by_model_model ON distributor_distributions_by_model (model_id)`,
  ],
  async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const stored of events) {
      const event = { type: stored.type, data: stored.data } as DistributionEvent;
      switch (event.type) {
        case 'DistributionCreated':
          await tx.query(
            `INSERT INTO distributor_distributions_by_model (id, model_id, status, created_at) VALUES ($1, $2, 'Scheduled', $3) ON CONFLICT (id) DO NOTHING`,
            [event.data.distributionId, event.data.modelId, event.data.createdAt],
          );
          break;
        case 'DistributionStarted':
        case 'DistributionSucceeded':
        case 'DistributionFailed':
          await tx.query('UPDATE distributor_distributions_by_model SET status = $2 WHERE id = $1', [event.data.distributionId, STATUS_AFTER[event.type]]);
          break;
        default:
          break;
      }
    }
  },
};

const STATUS_AFTER = { DistributionStarted: 'Running', DistributionSucceeded: 'Succeeded', DistributionFailed: 'Failed' } as const;

@Injectable()
export class DistributionsReadModel extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime) {
    super(runtime, distributionsProjection);
  }

  /** The distributions of `modelId` that have not finished, oldest first. */
  async usingModel(modelId: string): Promise<DistributionsUsingModelView> {
    const rows = await this.runtime.db.query<{ id: string; status: DistributionsUsingModelView['items'][number]['status'] }>(
      'SELECT id, status FROM distributor_distributions_by_model WHERE model_id = $1 AND NOT (status = ANY($2)) ORDER BY created_at, id',
      [modelId, [...TERMINAL_DISTRIBUTION_STATUSES]],
    );
    return { items: rows.rows.map((r) => ({ id: r.id, status: r.status })) };
  }
}

import { Inject, Injectable } from '@nestjs/common';
import {
  FINISHED_DISTRIBUTION_STATUSES,
  type DistributionEvent, type DistributionStatus, type DistributionsUsingModelView, type Page, type Strategy, type TargetFilter,
} from '@hotswap/contracts';
import {
  ProjectedReadModel, SERVICE_RUNTIME, type Projection, type ServiceRuntime, type SqlExecutor, type StoredEvent,
} from '@hotswap/infrastructure';

/** A distribution as the list shows it. */
export interface DistributionSummary {
  readonly id: string;
  readonly modelId: string;
  readonly strategy: Strategy;
  readonly status: DistributionStatus;
  readonly targets: number;
  readonly createdAt: string;
  readonly finishedAt?: string;
}

/** The status each event leaves a distribution in (events that do not change it are absent). */
const STATUS_AFTER: Partial<Record<DistributionEvent['type'], DistributionStatus>> = {
  DistributionStarted: 'Running',
  ApprovalRequested: 'PendingApproval',
  DistributionApproved: 'Running',
  DistributionPaused: 'Paused',
  DistributionCancelled: 'Cancelled',
  RollbackStarted: 'RollingBack',
  DistributionRolledBack: 'RolledBack',
  DistributionSucceeded: 'Succeeded',
  DistributionFailed: 'Failed',
};

/**
 * Every distribution with its model, status and target filter: the list, "which ones use model X",
 * the active ones the conductor drives, and the filters devices joining the fleet are matched
 * against. A status view itself is folded from the distribution's own stream.
 */
export const distributionsProjection: Projection = {
  name: 'distributor.distributions',
  eventTypes: ['DistributionCreated', 'TargetsAdded', 'DistributionResumed', ...(Object.keys(STATUS_AFTER) as DistributionEvent['type'][])],
  migrations: [
    `CREATE TABLE IF NOT EXISTS distributor_distributions_by_model (
       id text PRIMARY KEY,
       model_id text NOT NULL,
       status text NOT NULL,
       created_at timestamptz NOT NULL
     )`,
    `CREATE INDEX IF NOT EXISTS distributor_distributions_by_model_model ON distributor_distributions_by_model (model_id)`,
    `ALTER TABLE distributor_distributions_by_model ADD COLUMN IF NOT EXISTS strategy text NOT NULL DEFAULT 'Direct'`,
    `ALTER TABLE distributor_distributions_by_model ADD COLUMN IF NOT EXISTS targets integer NOT NULL DEFAULT 0`,
    `ALTER TABLE distributor_distributions_by_model ADD COLUMN IF NOT EXISTS target_filter jsonb`,
    `ALTER TABLE distributor_distributions_by_model ADD COLUMN IF NOT EXISTS paused_from text`,
    `ALTER TABLE distributor_distributions_by_model ADD COLUMN IF NOT EXISTS finished_at timestamptz`,
    `CREATE INDEX IF NOT EXISTS distributor_distributions_by_model_status ON distributor_distributions_by_model (status)`,
  ],
  async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const stored of events) {
      const event = { type: stored.type, data: stored.data } as DistributionEvent;
      const id = (event.data as { distributionId?: string }).distributionId;
      if (event.type === 'DistributionCreated') {
        await tx.query(
          `INSERT INTO distributor_distributions_by_model (id, model_id, status, created_at, strategy, targets, target_filter)
           VALUES ($1, $2, 'Scheduled', $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
          [id, event.data.modelId, event.data.createdAt, event.data.strategy, event.data.targets.length,
            event.data.targetFilter ? JSON.stringify(event.data.targetFilter) : null],
        );
      } else if (event.type === 'TargetsAdded') {
        await tx.query('UPDATE distributor_distributions_by_model SET targets = targets + $2 WHERE id = $1', [id, event.data.deviceIds.length]);
      } else if (event.type === 'DistributionPaused') {
        await tx.query(`UPDATE distributor_distributions_by_model SET paused_from = CASE WHEN status = 'Paused' THEN paused_from ELSE status END, status = 'Paused' WHERE id = $1`, [id]);
      } else if (event.type === 'DistributionResumed') {
        await tx.query(`UPDATE distributor_distributions_by_model SET status = COALESCE(paused_from, 'Running'), paused_from = NULL WHERE id = $1`, [id]);
      } else if (STATUS_AFTER[event.type] !== undefined) {
        const status = STATUS_AFTER[event.type] as DistributionStatus;
        const finished = FINISHED_DISTRIBUTION_STATUSES.includes(status);
        await tx.query(
          `UPDATE distributor_distributions_by_model SET status = $2, finished_at = CASE WHEN $3::boolean THEN $4::timestamptz ELSE NULL END WHERE id = $1`,
          [id, status, finished, (event.data as { at: string }).at],
        );
      }
    }
  },
};

interface Row {
  id: string; model_id: string; strategy: Strategy; status: DistributionStatus; targets: number; created_at: Date | string; finished_at: Date | string | null;
}
const iso = (value: Date | string) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString());

@Injectable()
export class DistributionsReadModel extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime) {
    super(runtime, distributionsProjection);
  }

  /** The distributions of `modelId` that have not finished, oldest first. */
  async usingModel(modelId: string): Promise<DistributionsUsingModelView> {
    const rows = await this.runtime.db.query<{ id: string; status: DistributionStatus }>(
      'SELECT id, status FROM distributor_distributions_by_model WHERE model_id = $1 AND NOT (status = ANY($2)) ORDER BY created_at, id',
      [modelId, [...FINISHED_DISTRIBUTION_STATUSES]],
    );
    return { items: rows.rows.map((r) => ({ id: r.id, status: r.status })) };
  }

  /** Distributions that still act: the conductor drives these. */
  async unfinished(): Promise<string[]> {
    const rows = await this.runtime.db.query<{ id: string }>(
      'SELECT id FROM distributor_distributions_by_model WHERE NOT (status = ANY($1)) ORDER BY created_at, id', [[...FINISHED_DISTRIBUTION_STATUSES]],
    );
    return rows.rows.map((r) => r.id);
  }

  /** Whether a distribution has finished (or never existed). */
  async isFinished(id: string): Promise<boolean> {
    const rows = await this.runtime.db.query<{ status: DistributionStatus }>('SELECT status FROM distributor_distributions_by_model WHERE id = $1', [id]);
    return rows.rows.length === 0 || FINISHED_DISTRIBUTION_STATUSES.includes(rows.rows[0].status);
  }

  /** Active distributions chosen by a target filter: devices joining the fleet may join them. */
  async activeWithFilter(): Promise<{ id: string; filter: TargetFilter }[]> {
    const rows = await this.runtime.db.query<{ id: string; target_filter: TargetFilter | string }>(
      `SELECT id, target_filter FROM distributor_distributions_by_model WHERE target_filter IS NOT NULL AND status = ANY($1)`,
      [['Scheduled', 'PendingApproval', 'Running', 'Paused']],
    );
    return rows.rows.map((r) => ({ id: r.id, filter: typeof r.target_filter === 'string' ? JSON.parse(r.target_filter) as TargetFilter : r.target_filter }));
  }

  async list(query: { status?: DistributionStatus; modelId?: string; limit?: number; offset?: number }): Promise<Page<DistributionSummary>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.status) where.push(`status = $${params.push(query.status)}`);
    if (query.modelId) where.push(`model_id = $${params.push(query.modelId)}`);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.runtime.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM distributor_distributions_by_model ${clause}`, params);
    const rows = await this.runtime.db.query<Row>(
      `SELECT id, model_id, strategy, status, targets, created_at, finished_at FROM distributor_distributions_by_model ${clause}
       ORDER BY created_at DESC, id LIMIT $${params.push(query.limit ?? 50)} OFFSET $${params.push(query.offset ?? 0)}`,
      params,
    );
    return {
      items: rows.rows.map((r) => ({
        id: r.id, modelId: r.model_id, strategy: r.strategy, status: r.status, targets: Number(r.targets), createdAt: iso(r.created_at),
        ...(r.finished_at ? { finishedAt: iso(r.finished_at) } : {}),
      })),
      total: Number(total.rows[0]?.n ?? 0),
    };
  }
}

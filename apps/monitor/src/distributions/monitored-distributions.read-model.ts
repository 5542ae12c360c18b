import { Inject, Injectable } from '@nestjs/common';
import type {
  AbTestSpec, DegradationTrigger, DistributionEvent, DistributionStatus, RollbackPolicy, Strategy, SuccessCriteria, WaveSpec,
} from '@hotswap/contracts';
import type { MonitoredDistribution } from '@hotswap/domain';
import {
  ProjectedReadModel, SERVICE_RUNTIME, type Projection, type ServiceRuntime, type SqlExecutor, type StoredEvent,
} from '@hotswap/infrastructure';

/** Status after each event that changes it. */
const STATUS_AFTER: Partial<Record<DistributionEvent['type'], DistributionStatus>> = {
  DistributionStarted: 'Running',
  ApprovalRequested: 'PendingApproval',
  DistributionApproved: 'Running',
  DistributionPaused: 'Paused',
  DistributionResumed: 'Running',
  DistributionCancelled: 'Cancelled',
  RollbackStarted: 'RollingBack',
  DistributionRolledBack: 'RolledBack',
  DistributionSucceeded: 'Succeeded',
  DistributionFailed: 'Failed',
};

/**
 * The distributions as the monitor needs them: status, rules and A/B test, and each target's
 * wave, group, model, previous model, swap and rollback times.
 */
export const monitoredDistributionsProjection: Projection = {
  name: 'monitor.distributions',
  eventTypes: [
    'DistributionCreated', 'TargetsAdded', 'TargetUpdateRequested', 'TargetSwapped', 'TargetRolledBack', 'DegradationDetected',
    ...(Object.keys(STATUS_AFTER) as DistributionEvent['type'][]),
  ],
  migrations: [
    `CREATE TABLE IF NOT EXISTS monitor_distributions (
       id text PRIMARY KEY,
       model_id text NOT NULL,
       strategy text NOT NULL,
       status text NOT NULL,
       rollback_policy text NOT NULL,
       success_criteria jsonb NOT NULL,
       waves jsonb NOT NULL,
       ab_test jsonb,
       created_at timestamptz NOT NULL,
       started_at timestamptz,
       degradation jsonb
     )`,
    `CREATE TABLE IF NOT EXISTS monitor_targets (
       distribution_id text NOT NULL,
       device_id text NOT NULL,
       wave integer NOT NULL,
       grp text NOT NULL,
       model_id text NOT NULL,
       from_model_id text,
       swapped_at timestamptz,
       rolled_back_at timestamptz,
       PRIMARY KEY (distribution_id, device_id)
     )`,
    'CREATE INDEX IF NOT EXISTS monitor_distributions_status ON monitor_distributions (status)',
  ],
  async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const stored of events) await applyEvent(tx, { type: stored.type, data: stored.data } as DistributionEvent, stored.recordedAt);
  },
};

async function applyEvent(tx: SqlExecutor, event: DistributionEvent, recordedAt: string): Promise<void> {
  const id = event.data.distributionId;
  switch (event.type) {
    case 'DistributionCreated': {
      // Defaults keep an incomplete (e.g. v1) event from blocking the projection: one wave of every target.
      const d = { ...event.data, targets: event.data.targets ?? [], strategy: event.data.strategy ?? 'Direct', rollbackPolicy: event.data.rollbackPolicy ?? 'Automatic' };
      const waves: readonly WaveSpec[] = d.waves ?? [{ name: 'all', group: 'all', modelId: d.modelId, size: d.targets.length, observeMs: 0 }];
      await tx.query(
        `INSERT INTO monitor_distributions (id, model_id, strategy, status, rollback_policy, success_criteria, waves, ab_test, created_at)
         VALUES ($1, $2, $3, 'Scheduled', $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
        [id, d.modelId, d.strategy, d.rollbackPolicy, JSON.stringify(d.successCriteria ?? {}), JSON.stringify(waves),
          d.abTest ? JSON.stringify(d.abTest) : null, d.createdAt ?? recordedAt],
      );
      let offset = 0;
      for (const [index, wave] of waves.entries()) {
        const deviceIds = d.targets.slice(offset, offset + wave.size);
        const fromModelIds = deviceIds.map((_, i) => {
          const model = d.snapshot?.model[offset + i];
          return model === undefined || model < 0 ? null : (d.snapshot?.modelIds[model] ?? null);
        });
        await insertTargets(tx, id, index + 1, wave, deviceIds, fromModelIds);
        offset += wave.size;
      }
      break;
    }
    case 'TargetsAdded': {
      const wave = await waveOf(tx, id, event.data.wave);
      if (wave) await insertTargets(tx, id, event.data.wave, wave, event.data.deviceIds, event.data.fromModelIds ?? []);
      break;
    }
    case 'TargetUpdateRequested': {
      const { deviceId, modelId, fromModelId } = event.data;
      const wave = await waveOf(tx, id, event.data.wave);
      // A new model (e.g. the winner of an A/B test) starts a new swap; a retry keeps the group's data.
      await tx.query(
        `INSERT INTO monitor_targets (distribution_id, device_id, wave, grp, model_id, from_model_id) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (distribution_id, device_id) DO UPDATE SET wave = EXCLUDED.wave, grp = EXCLUDED.grp,
           from_model_id = COALESCE(EXCLUDED.from_model_id, monitor_targets.from_model_id),
           swapped_at = CASE WHEN monitor_targets.model_id = EXCLUDED.model_id THEN monitor_targets.swapped_at END,
           rolled_back_at = CASE WHEN monitor_targets.model_id = EXCLUDED.model_id THEN monitor_targets.rolled_back_at END,
           model_id = EXCLUDED.model_id`,
        [id, deviceId, event.data.wave, wave?.group ?? 'all', modelId, fromModelId ?? null],
      );
      break;
    }
    case 'TargetSwapped':
      await tx.query('UPDATE monitor_targets SET swapped_at = $3, rolled_back_at = NULL WHERE distribution_id = $1 AND device_id = $2', [id, event.data.deviceId, event.data.at]);
      break;
    case 'TargetRolledBack':
      await tx.query('UPDATE monitor_targets SET rolled_back_at = $3 WHERE distribution_id = $1 AND device_id = $2', [id, event.data.deviceId, event.data.at]);
      break;
    case 'DegradationDetected': {
      const { trigger, detail, at } = event.data;
      await tx.query('UPDATE monitor_distributions SET degradation = COALESCE(degradation, $2) WHERE id = $1', [id, JSON.stringify({ trigger, detail, at })]);
      break;
    }
    default: {
      const status = STATUS_AFTER[event.type];
      if (status === undefined) break;
      await tx.query(
        `UPDATE monitor_distributions SET status = $2::text, started_at = CASE WHEN $2::text = 'Running' THEN COALESCE(started_at, $3::timestamptz) ELSE started_at END WHERE id = $1`,
        [id, status, event.data.at],
      );
    }
  }
}

async function waveOf(tx: SqlExecutor, distributionId: string, wave: number): Promise<WaveSpec | undefined> {
  const { rows } = await tx.query<{ waves: WaveSpec[] | string }>('SELECT waves FROM monitor_distributions WHERE id = $1', [distributionId]);
  const waves = rows[0] ? (typeof rows[0].waves === 'string' ? (JSON.parse(rows[0].waves) as WaveSpec[]) : rows[0].waves) : [];
  return waves[wave - 1];
}

async function insertTargets(
  tx: SqlExecutor, distributionId: string, wave: number, spec: WaveSpec, deviceIds: readonly string[], fromModelIds: readonly (string | null)[],
): Promise<void> {
  if (deviceIds.length === 0) return;
  await tx.query(
    `INSERT INTO monitor_targets (distribution_id, device_id, wave, grp, model_id, from_model_id)
     SELECT $1, t.device_id, $2, $3, $4, t.from_model_id FROM unnest($5::text[], $6::text[]) AS t(device_id, from_model_id)
     ON CONFLICT (distribution_id, device_id) DO NOTHING`,
    [distributionId, wave, spec.group, spec.modelId, [...deviceIds], deviceIds.map((_, i) => fromModelIds[i] ?? null)],
  );
}

/** A distribution as the monitor keeps it. */
export interface MonitoredDistributionRecord extends MonitoredDistribution {
  readonly id: string;
  readonly modelId: string;
  readonly status: DistributionStatus;
  readonly rollbackPolicy: RollbackPolicy;
  readonly successCriteria: SuccessCriteria;
  readonly abTest?: AbTestSpec;
  readonly degradation?: { readonly trigger: DegradationTrigger; readonly detail: string; readonly at: string };
}

interface DistributionRow {
  id: string; model_id: string; strategy: Strategy; status: DistributionStatus; rollback_policy: RollbackPolicy;
  success_criteria: SuccessCriteria | string; ab_test: AbTestSpec | string | null; created_at: Date | string; started_at: Date | string | null;
  degradation: MonitoredDistributionRecord['degradation'] | string | null;
}
interface TargetRow { device_id: string; grp: string; model_id: string; from_model_id: string | null; swapped_at: Date | string | null }

@Injectable()
export class MonitoredDistributionsReadModel extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime) {
    super(runtime, monitoredDistributionsProjection);
  }

  /**
   * Ids of the distributions whose new model may be serving and that are not yet found degraded,
   * oldest first: running, paused, or waiting for approval of their next wave (its earlier waves serve).
   */
  async watched(): Promise<string[]> {
    const { rows } = await this.runtime.db.query<{ id: string }>(
      `SELECT id FROM monitor_distributions WHERE status IN ('Running', 'Paused', 'PendingApproval') AND degradation IS NULL ORDER BY created_at, id`,
    );
    return rows.map((r) => r.id);
  }

  async get(id: string): Promise<MonitoredDistributionRecord | undefined> {
    const { rows } = await this.runtime.db.query<DistributionRow>('SELECT * FROM monitor_distributions WHERE id = $1', [id]);
    const row = rows[0];
    if (row === undefined) return undefined;
    const targets = await this.runtime.db.query<TargetRow>(
      'SELECT device_id, grp, model_id, from_model_id, swapped_at FROM monitor_targets WHERE distribution_id = $1 ORDER BY wave, device_id', [id],
    );
    const abTest = json(row.ab_test);
    const degradation = json(row.degradation);
    return {
      id: row.id, modelId: row.model_id, strategy: row.strategy, status: row.status, rollbackPolicy: row.rollback_policy,
      successCriteria: json(row.success_criteria) ?? {},
      startedAtMs: new Date(row.started_at ?? row.created_at).getTime(),
      ...(abTest ? { abTest } : {}),
      ...(degradation ? { degradation } : {}),
      targets: targets.rows.map((t) => ({
        deviceId: t.device_id, group: t.grp, modelId: t.model_id,
        ...(t.from_model_id ? { fromModelId: t.from_model_id } : {}),
        ...(t.swapped_at ? { swappedAtMs: new Date(t.swapped_at).getTime() } : {}),
      })),
    };
  }
}

function json<T>(value: T | string | null): T | null {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

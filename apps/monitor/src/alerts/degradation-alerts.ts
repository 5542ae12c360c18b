import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { DegradationDetected } from '@hotswap/contracts';
import {
  ProjectedReadModel, SERVICE_RUNTIME, type Projection, type ServiceRuntime, type SqlExecutor, type StoredEvent,
} from '@hotswap/infrastructure';
import { monitoredDistributionsProjection } from '../distributions/monitored-distributions.read-model.js';
import { MONITOR_OPTIONS, type MonitorOptions } from '../monitor.options.js';

/** The JSON body POSTed to the alert webhook. */
/** The alert posted for a DegradationDetected event: the event's own data, and the distribution's policy. */
export type DegradationAlert = { readonly type: 'DegradationDetected' } & DegradationDetected['data'] & {
  /** What the distribution does about it (`Automatic` rolls back, `Freeze` pauses, `Manual` only alerts). */
  readonly rollbackPolicy?: string;
};

/**
 * An outbox of alerts: each DegradationDetected becomes one row in the projection's transaction
 * (exactly once, across restarts); the sender delivers the rows. Webhook calls never run inside
 * the projection's transaction, so a slow receiver does not hold the read-model database.
 */
export const degradationAlertsProjection: Projection = {
  name: 'monitor.degradation-alerts',
  eventTypes: ['DegradationDetected'],
  migrations: [
    // The distributions' table, read for the policy, may not exist yet when this projection starts first.
    ...monitoredDistributionsProjection.migrations,
    `CREATE TABLE IF NOT EXISTS monitor_alerts (
       position bigint NOT NULL,
       seq integer NOT NULL,
       body jsonb NOT NULL,
       status text NOT NULL,
       attempts integer NOT NULL DEFAULT 0,
       next_attempt_at timestamptz NOT NULL,
       last_error text,
       PRIMARY KEY (position, seq)
     )`,
    `CREATE INDEX IF NOT EXISTS monitor_alerts_pending ON monitor_alerts (status, next_attempt_at)`,
  ],
  async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const [seq, stored] of events.entries()) {
      if (stored.type !== 'DegradationDetected') continue;
      const data = stored.data as DegradationDetected['data'];
      // The distributions projection may not have seen the distribution yet: its policy is optional.
      const { rows } = await tx.query<{ rollback_policy: string; strategy: string }>(
        `SELECT rollback_policy, strategy FROM monitor_distributions WHERE id = $1`, [data.distributionId],
      );
      const body: DegradationAlert = {
        type: 'DegradationDetected', ...data,
        ...(rows[0] ? { rollbackPolicy: rows[0].rollback_policy, strategy: rows[0].strategy } : {}),
      };
      await tx.query(
        // Due at once, whatever the clock says ('-infinity' is PostgreSQL's earliest time).
        `INSERT INTO monitor_alerts (position, seq, body, status, next_attempt_at) VALUES ($1, $2, $3, 'Pending', '-infinity')
         ON CONFLICT (position, seq) DO NOTHING`,
        [stored.position.toString(), seq, JSON.stringify(body)],
      );
    }
  },
};

interface AlertRow { position: string | number; seq: number; body: DegradationAlert | string; attempts: number }

/**
 * Delivers the alert outbox to `alertWebhookUrl`: a POST per alert, retried with exponential
 * backoff (`alertRetryBaseMs`, doubled each time) up to `alertMaxAttempts`, each failure logged.
 * Without a webhook URL, alerts are only recorded.
 */
@Injectable()
export class DegradationAlerts extends ProjectedReadModel implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private sending?: Promise<void>;

  constructor(
    @Inject(SERVICE_RUNTIME) runtime: ServiceRuntime,
    @Inject(MONITOR_OPTIONS) private readonly options: MonitorOptions,
  ) {
    super(runtime, degradationAlertsProjection);
  }

  onApplicationBootstrap(): void {
    if (this.options.alertWebhookUrl === undefined) return;
    this.timer = setInterval(() => {
      this.sending ??= this.deliverDue().finally(() => { this.sending = undefined; });
    }, this.options.alertPollIntervalMs);
  }

  override async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sending;
    await super.onModuleDestroy();
  }

  /** Sends every alert whose next attempt is due. */
  async deliverDue(): Promise<void> {
    const url = this.options.alertWebhookUrl;
    if (url === undefined) return;
    const now = this.runtime.clock();
    const { rows } = await this.runtime.db.query<AlertRow>(
      `SELECT position, seq, body, attempts FROM monitor_alerts WHERE status = 'Pending' AND next_attempt_at <= $1 ORDER BY position, seq LIMIT 100`,
      [now.toISOString()],
    );
    for (const row of rows) {
      const body = typeof row.body === 'string' ? (JSON.parse(row.body) as DegradationAlert) : row.body;
      const attempt = row.attempts + 1;
      const error = await this.post(url, body);
      const key = [String(row.position), row.seq];
      if (error === undefined) {
        await this.runtime.db.query(`UPDATE monitor_alerts SET status = 'Sent', attempts = $3, last_error = NULL WHERE position = $1 AND seq = $2`, [...key, attempt]);
        this.runtime.logger.info('alert sent', { distributionId: body.distributionId, attempt });
      } else if (attempt >= this.options.alertMaxAttempts) {
        await this.runtime.db.query(`UPDATE monitor_alerts SET status = 'Failed', attempts = $3, last_error = $4 WHERE position = $1 AND seq = $2`, [...key, attempt, error]);
        this.runtime.logger.error('alert given up', { distributionId: body.distributionId, attempts: attempt, error });
      } else {
        const next = new Date(now.getTime() + this.options.alertRetryBaseMs * 2 ** (attempt - 1));
        await this.runtime.db.query(
          `UPDATE monitor_alerts SET attempts = $3, last_error = $4, next_attempt_at = $5 WHERE position = $1 AND seq = $2`,
          [...key, attempt, error, next.toISOString()],
        );
        this.runtime.logger.warn('alert failed, will retry', { distributionId: body.distributionId, attempt, retryAt: next.toISOString(), error });
      }
    }
  }

  /** Undefined when delivered, else why not. */
  private async post(url: string, body: DegradationAlert): Promise<string | undefined> {
    try {
      const response = await fetch(url, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.alertTimeoutMs),
      });
      await response.body?.cancel();
      return response.ok ? undefined : `HTTP ${response.status}`;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { DeviceMetricsView, TelemetryWindow, TelemetryWindowView } from '@hotswap/contracts';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { MONITOR_OPTIONS, type MonitorOptions } from '../monitor.options.js';

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS monitor_telemetry_windows (
     device_id text NOT NULL,
     model_id text NOT NULL,
     window_end timestamptz NOT NULL,
     win jsonb NOT NULL,
     PRIMARY KEY (device_id, model_id, window_end)
   )`,
];

/**
 * The latest telemetry windows per device and model. Telemetry is a signal, not an event, so the
 * windows are stored as they arrive (no event store, no projection) and only the newest
 * `windowsPerModel` of each device+model are kept.
 */
@Injectable()
export class TelemetryWindowsStore {
  private ready?: Promise<void>;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(MONITOR_OPTIONS) private readonly options: MonitorOptions,
  ) {}

  /** Creates the table once; every other method waits for it. */
  migrate(): Promise<void> {
    this.ready ??= (async () => {
      for (const sql of MIGRATIONS) await this.runtime.db.query(sql);
    })();
    return this.ready;
  }

  async record(window: TelemetryWindow): Promise<void> {
    await this.migrate();
    const { deviceId, modelId, ...figures } = window;
    const view: TelemetryWindowView = { ...figures };
    await this.runtime.db.transaction(async (tx) => {
      // A window delivered twice is stored once.
      await tx.query(
        `INSERT INTO monitor_telemetry_windows (device_id, model_id, window_end, win) VALUES ($1, $2, $3, $4)
         ON CONFLICT (device_id, model_id, window_end) DO NOTHING`,
        [deviceId, modelId, window.windowEnd, JSON.stringify(view)],
      );
      await tx.query(
        `DELETE FROM monitor_telemetry_windows WHERE device_id = $1 AND model_id = $2 AND window_end < (
           SELECT window_end FROM monitor_telemetry_windows WHERE device_id = $1 AND model_id = $2
           ORDER BY window_end DESC OFFSET $3 LIMIT 1)`,
        [deviceId, modelId, this.options.windowsPerModel - 1],
      );
    });
  }

  /** Windows newest first; the model that reported last comes first. */
  async deviceMetrics(deviceId: string): Promise<DeviceMetricsView> {
    await this.migrate();
    const rows = await this.runtime.db.query<{ model_id: string; win: TelemetryWindowView | string }>(
      `SELECT model_id, win FROM monitor_telemetry_windows w WHERE device_id = $1
       ORDER BY (SELECT max(window_end) FROM monitor_telemetry_windows l WHERE l.device_id = w.device_id AND l.model_id = w.model_id) DESC,
                model_id, window_end DESC`,
      [deviceId],
    );
    const models = new Map<string, TelemetryWindowView[]>();
    for (const row of rows.rows) {
      const win = typeof row.win === 'string' ? (JSON.parse(row.win) as TelemetryWindowView) : row.win;
      models.set(row.model_id, [...(models.get(row.model_id) ?? []), win]);
    }
    return { deviceId, models: [...models].map(([modelId, windows]) => ({ modelId, windows })) };
  }
}

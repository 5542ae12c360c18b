import { Inject, Injectable } from '@nestjs/common';
import type { DeviceMetricsView, TelemetryWindow, TelemetryWindowView } from '@hotswap/contracts';
import type { ObservedWindow } from '@hotswap/domain';
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
  // Window starts, so the monitor can tell windows before a swap from those after it.
  'ALTER TABLE monitor_telemetry_windows ADD COLUMN IF NOT EXISTS window_start timestamptz',
];

/** Windows `GET /devices/{id}/metrics` shows per model; more are kept for the distributions' metrics. */
export const DEVICE_METRICS_WINDOWS_SHOWN = 60;

interface WindowRow {
  device_id: string;
  model_id: string;
  window_start: Date | string | null;
  window_end: Date | string;
  win: TelemetryWindowView | string;
}

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
      // Windows of one device and model arrive concurrently: one at a time, or two prunes that each
      // miss the other's insert keep more than `windowsPerModel`.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`monitor-windows/${deviceId}/${modelId}`]);
      // A window delivered twice is stored once.
      await tx.query(
        `INSERT INTO monitor_telemetry_windows (device_id, model_id, window_end, win, window_start) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (device_id, model_id, window_end) DO NOTHING`,
        [deviceId, modelId, window.windowEnd, JSON.stringify(view), window.windowStart],
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
      const windows = models.get(row.model_id) ?? [];
      if (windows.length < DEVICE_METRICS_WINDOWS_SHOWN) models.set(row.model_id, [...windows, win]);
    }
    return { deviceId, models: [...models].map(([modelId, windows]) => ({ modelId, windows })) };
  }

  /** Every kept window of these devices that ended after `sinceMs`, in no particular order. */
  async windowsOf(deviceIds: readonly string[], sinceMs: number): Promise<ObservedWindow[]> {
    await this.migrate();
    if (deviceIds.length === 0) return [];
    const { rows } = await this.runtime.db.query<WindowRow>(
      `SELECT device_id, model_id, window_start, window_end, win FROM monitor_telemetry_windows
       WHERE device_id = ANY($1) AND window_end > $2`,
      [[...deviceIds], new Date(sinceMs).toISOString()],
    );
    return rows.map((row) => {
      const win = typeof row.win === 'string' ? (JSON.parse(row.win) as TelemetryWindowView) : row.win;
      const windowEndMs = new Date(row.window_end).getTime();
      return {
        ...win, deviceId: row.device_id, modelId: row.model_id, windowEndMs,
        windowStartMs: row.window_start === null ? Date.parse(win.windowStart) : new Date(row.window_start).getTime(),
      };
    });
  }
}

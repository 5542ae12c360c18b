export interface MonitorOptions {
  /** Telemetry windows kept per device and model for `GET /devices/{id}/metrics`; older ones are dropped. Default 60 (5 minutes of 5-second windows). */
  readonly windowsPerModel: number;
}

export const MONITOR_OPTIONS = Symbol.for('hotswap.monitor.options');

export const defaultMonitorOptions: MonitorOptions = { windowsPerModel: 60 };

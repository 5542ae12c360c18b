export { MonitorModule } from './monitor.module.js';
export type { MonitorOptions } from './monitor.options.js';
export { TelemetryListener } from './telemetry/telemetry.listener.js';
export { TelemetryWindowsStore } from './device-metrics/telemetry-windows.store.js';
export { monitorConfig, monitorOptionsFromEnv } from './monitor.config.js';

export { MonitorModule } from './monitor.module.js';
export { TelemetryListener } from './telemetry/telemetry.listener.js';

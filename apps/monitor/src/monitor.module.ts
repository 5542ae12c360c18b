import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { AuditLogReadModel } from './audit/audit-log.read-model.js';
import { AuditQueriesHandler } from './audit/audit-queries.handler.js';
import { DegradationAlerts } from './alerts/degradation-alerts.js';
import { DegradationDetector } from './detection/degradation-detector.js';
import { DistributionMonitor } from './distributions/distribution-monitor.js';
import { MonitoredDistributionsReadModel } from './distributions/monitored-distributions.read-model.js';
import { MonitoringQueriesHandler } from './queries/monitoring-queries.handler.js';
import { DeviceMetricsHandler } from './device-metrics/device-metrics.handler.js';
import { TelemetryWindowsStore } from './device-metrics/telemetry-windows.store.js';
import { MONITOR_OPTIONS, resolveMonitorOptions, type MonitorOptions } from './monitor.options.js';
import { TelemetryListener } from './telemetry/telemetry.listener.js';
import { DeviceLogging } from './telemetry/device-logging.js';

@Module({})
export class MonitorModule {
  static register(runtime: ServiceRuntime, options: Partial<MonitorOptions> = {}): DynamicModule {
    const resolved = resolveMonitorOptions(options);
    return {
      module: MonitorModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime },
        { provide: MONITOR_OPTIONS, useValue: resolved },
        TelemetryWindowsStore, TelemetryListener, DeviceMetricsHandler,
        MonitoredDistributionsReadModel, DistributionMonitor, MonitoringQueriesHandler, DegradationDetector, DegradationAlerts,
        AuditLogReadModel, AuditQueriesHandler, DeviceLogging,
      ],
      exports: [TelemetryListener, TelemetryWindowsStore],
    };
  }
}

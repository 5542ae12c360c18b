import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DeviceMetricsHandler } from './device-metrics/device-metrics.handler.js';
import { TelemetryWindowsStore } from './device-metrics/telemetry-windows.store.js';
import { defaultMonitorOptions, MONITOR_OPTIONS, type MonitorOptions } from './monitor.options.js';
import { TelemetryListener } from './telemetry/telemetry.listener.js';

@Module({})
export class MonitorModule {
  static register(runtime: ServiceRuntime, options: Partial<MonitorOptions> = {}): DynamicModule {
    const resolved = { ...defaultMonitorOptions, ...options };
    if (!Number.isSafeInteger(resolved.windowsPerModel) || resolved.windowsPerModel < 1) {
      throw new RangeError(`MonitorOptions.windowsPerModel must be a positive integer, got ${resolved.windowsPerModel}`);
    }
    return {
      module: MonitorModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime },
        { provide: MONITOR_OPTIONS, useValue: resolved },
        TelemetryWindowsStore, TelemetryListener, DeviceMetricsHandler,
      ],
      exports: [TelemetryListener, TelemetryWindowsStore],
    };
  }
}

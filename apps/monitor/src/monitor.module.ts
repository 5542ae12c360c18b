import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { TelemetryListener } from './telemetry/telemetry.listener.js';

@Module({})
export class MonitorModule {
  static register(runtime: ServiceRuntime): DynamicModule {
    return { module: MonitorModule, providers: [{ provide: SERVICE_RUNTIME, useValue: runtime }, TelemetryListener], exports: [TelemetryListener] };
  }
}

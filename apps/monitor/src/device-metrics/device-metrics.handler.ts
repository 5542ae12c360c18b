import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queries, queueGroup, Services } from '@hotswap/contracts';
import { SERVICE_RUNTIME, validateById, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';
import { TelemetryWindowsStore } from './telemetry-windows.store.js';

/** `get-device-metrics`: the latest windows per model of one device (none for a device never heard from). */
@Injectable()
export class DeviceMetricsHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly windows: TelemetryWindowsStore,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.windows.migrate();
    this.subscription = await this.runtime.bus.handle(Queries.getDeviceMetrics, {
      queue: queueGroup(Services.monitor), validate: validateById, handler: ({ id }) => this.windows.deviceMetrics(id),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }
}

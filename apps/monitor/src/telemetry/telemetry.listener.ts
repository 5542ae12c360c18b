import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DeviceSubjects, deviceIdOfSubject, Queries, queueGroup, Services, TelemetryWindow } from '@hotswap/contracts';
import { closeAll, SERVICE_RUNTIME, serveHealth, validateWith, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';
import { TelemetryWindowsStore } from '../device-metrics/telemetry-windows.store.js';
import { recordInferenceLatency } from './inference-metrics.js';

/**
 * Receives devices' telemetry windows and keeps the latest per device and model. Rollback rules
 * over these windows arrive with the rollout-strategies issue.
 */
@Injectable()
export class TelemetryListener implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly windows: TelemetryWindowsStore,
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.monitor);
    await this.windows.migrate();
    this.subscriptions = await Promise.all([
      this.runtime.bus.subscribe(DeviceSubjects.all.telemetry, {
        queue, validate: validateWith(TelemetryWindow),
        handler: async (window, ctx) => {
          if (deviceIdOfSubject(ctx.subject) !== window.deviceId) {
            this.runtime.logger.warn('refused device message', { subject: ctx.subject, reason: `telemetry on ${ctx.subject} speaks for device ${window.deviceId}` });
            return;
          }
          await this.windows.record(window);
          recordInferenceLatency(this.runtime.metrics, window);
        },
      }),
      serveHealth(this.runtime.bus, Queries.health(Services.monitor), queue),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

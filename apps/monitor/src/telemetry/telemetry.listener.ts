import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DeviceSubjects, deviceIdOfSubject, Queries, queueGroup, Services, TelemetryWindow } from '@hotswap/contracts';
import { closeAll, SERVICE_RUNTIME, serveHealth, validateWith, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';

/**
 * Receives devices' telemetry windows and keeps the latest per device and model. Rollback rules
 * over these windows arrive with the rollout-strategies issue.
 */
@Injectable()
export class TelemetryListener implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];
  readonly latest = new Map<string, TelemetryWindow>();

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.monitor);
    this.subscriptions = await Promise.all([
      this.runtime.bus.subscribe(DeviceSubjects.all.telemetry, {
        queue, validate: validateWith(TelemetryWindow),
        handler: (window, ctx) => {
          if (deviceIdOfSubject(ctx.subject) !== window.deviceId) return;
          this.latest.set(`${window.deviceId}/${window.modelId}`, window);
        },
      }),
      serveHealth(this.runtime.bus, Queries.health(Services.monitor), queue),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

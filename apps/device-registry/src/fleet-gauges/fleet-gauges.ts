import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DEVICE_REGISTRY_OPTIONS, type DeviceRegistryOptions } from '../device-registry.options.js';
import { DevicesReadModel } from '../projections/devices/devices.read-model.js';

/**
 * Feeds `devices.online.count` and `devices.offline.count` from the fleet read model at each
 * collection. Online counts every connected device (Online, Updating, Degraded); deregistered
 * devices are in neither.
 */
@Injectable()
export class FleetGauges implements OnModuleInit, OnModuleDestroy {
  private stops: Array<() => void> = [];

  constructor(
    @Inject(DEVICE_REGISTRY_OPTIONS) private readonly options: DeviceRegistryOptions,
    private readonly devices: DevicesReadModel,
  ) {}

  onModuleInit(): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    this.stops = [
      metrics.observe('devicesOnline', async () => {
        const counts = await this.devices.countByStatus();
        return (counts.Online ?? 0) + (counts.Updating ?? 0) + (counts.Degraded ?? 0);
      }),
      metrics.observe('devicesOffline', async () => (await this.devices.countByStatus()).Offline ?? 0),
    ];
  }

  onModuleDestroy(): void {
    for (const stop of this.stops) stop();
    this.stops = [];
  }
}

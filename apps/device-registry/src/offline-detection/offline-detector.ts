import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DeviceCommands } from '../device-commands.js';
import { DevicesReadModel } from '../projections/devices/devices.read-model.js';
import { DEVICE_REGISTRY_OPTIONS, type DeviceRegistryOptions } from '../device-registry.options.js';

/** Marks devices Offline once no heartbeat arrived for `offlineAfterMs`. */
@Injectable()
export class OfflineDetector implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DEVICE_REGISTRY_OPTIONS) private readonly options: DeviceRegistryOptions,
    private readonly commands: DeviceCommands,
    private readonly devices: DevicesReadModel,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => { this.sweeping ??= this.sweep().then(() => undefined).finally(() => { this.sweeping = undefined; }); }, this.options.offlineCheckIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One pass: every device silent for longer than the limit goes Offline (an event each). */
  async sweep(): Promise<string[]> {
    const before = new Date(this.runtime.clock().getTime() - this.options.offlineAfterMs).toISOString();
    const silent = await this.devices.silentSince(before);
    // One wait for the read model at the end, not one per device: a whole site going dark is thousands.
    let last: bigint | undefined;
    for (const device of silent) {
      try {
        const { position } = await this.commands.run('MarkOffline', { deviceId: device.id, lastHeartbeat: device.lastHeartbeat }, 'system:device-registry', undefined, { wait: false });
        if (position !== undefined && (last === undefined || position > last)) last = position;
      } catch (error) {
        this.runtime.logger.warn('could not mark device offline', { deviceId: device.id, error: String(error) });
      }
    }
    if (last !== undefined) await this.devices.waitFor(last);
    return silent.map((d) => d.id);
  }
}

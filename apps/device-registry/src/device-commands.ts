import { Inject, Injectable } from '@nestjs/common';
import { Streams } from '@hotswap/contracts';
import { deviceDecider, type DeviceCommand } from '@hotswap/domain';
import { handleCommand, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DevicesReadModel } from './projections/devices/devices.read-model.js';

type DataOf<T extends DeviceCommand['type']> = Extract<DeviceCommand, { type: T }>['data'];

/**
 * Runs device commands against the device's stream. By default it waits until the read model has
 * them (read-your-writes for callers that answer with, or next read, the read model); device-plane
 * reports nobody reads back pass `wait: false`, so a burst of them does not queue behind the
 * projection.
 */
@Injectable()
export class DeviceCommands {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly devices: DevicesReadModel,
  ) {}

  async run<T extends DeviceCommand['type']>(type: T, data: DataOf<T> & { deviceId: string }, actor: string, traceparent?: string, options: { wait?: boolean } = {}) {
    const now = this.runtime.clock().toISOString();
    const command = { type, data, metadata: { now } } as DeviceCommand;
    const result = await handleCommand(this.runtime.eventStore, Streams.device(data.deviceId), deviceDecider, command, { actor, traceparent, now });
    if (result.position !== undefined && options.wait !== false) await this.devices.waitFor(result.position);
    return result;
  }
}

import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Commands, queueGroup, Services, UpdateDeviceDto, type DeviceView, type UpdateDeviceCommand } from '@hotswap/contracts';
import { NotFoundError } from '@hotswap/domain';
import { SERVICE_RUNTIME, validateWith, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { DeviceCommands } from '../../device-commands.js';
import { DevicesReadModel } from '../../projections/devices/devices.read-model.js';

/** `UpdateDevice` (`PUT /api/v1/devices/{id}`): replaces the attributes given; answers the device as it now is. */
@Injectable()
export class UpdateDeviceHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly commands: DeviceCommands,
    private readonly devices: DevicesReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.updateDevice, {
      queue: queueGroup(Services.deviceRegistry),
      validate: validateUpdateDevice,
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  async execute({ actor, id, ...attributes }: UpdateDeviceCommand, traceparent?: string): Promise<DeviceView> {
    await this.commands.run('UpdateDevice', { deviceId: id, ...attributes }, actor, traceparent);
    const device = await this.devices.get(id);
    if (!device) throw new NotFoundError(`device ${id} not found`);
    return device;
  }
}

async function validateUpdateDevice(payload: unknown): Promise<ValidationResult<UpdateDeviceCommand>> {
  const { actor, id, ...rest } = (payload ?? {}) as { actor?: unknown; id?: unknown };
  if (typeof actor !== 'string' || actor === '') return { ok: false, reason: 'actor is required' };
  if (typeof id !== 'string' || id === '') return { ok: false, reason: 'id is required' };
  const checked = await validateWith(UpdateDeviceDto)(rest);
  if (!checked.ok) return checked;
  const { deviceType, region, capabilities, tags } = checked.value;
  if (deviceType === undefined && region === undefined && capabilities === undefined && tags === undefined) {
    return { ok: false, reason: 'give at least one of deviceType, region, capabilities, tags' };
  }
  return {
    ok: true,
    value: {
      actor, id,
      ...(deviceType !== undefined && { deviceType }),
      ...(region !== undefined && { region }),
      // Only the known capability fields, as a plain object.
      ...(capabilities !== undefined && {
        capabilities: {
          cpuCores: capabilities.cpuCores, gpu: capabilities.gpu, memoryMb: capabilities.memoryMb, storageMb: capabilities.storageMb,
          ...(capabilities.transport !== undefined ? { transport: capabilities.transport } : {}),
        },
      }),
      ...(tags !== undefined && { tags }),
    },
  };
}

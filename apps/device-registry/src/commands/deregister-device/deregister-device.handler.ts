import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Commands, queueGroup, Services, type CreatedReply, type DeregisterDeviceCommand } from '@hotswap/contracts';
import { SERVICE_RUNTIME, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { DeviceCommands } from '../../device-commands.js';

/**
 * `DeregisterDevice` (`DELETE /api/v1/devices/{id}`): records `DeviceDeregistered`, which takes the
 * device out of the fleet read model. From then on its messages are refused with the reason and
 * its credentials are not renewed, so they stop working when they expire.
 */
@Injectable()
export class DeregisterDeviceHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly commands: DeviceCommands,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.deregisterDevice, {
      queue: queueGroup(Services.deviceRegistry),
      validate: validateDeregisterDevice,
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  async execute({ actor, id }: DeregisterDeviceCommand, traceparent?: string): Promise<CreatedReply> {
    await this.commands.run('DeregisterDevice', { deviceId: id }, actor, traceparent);
    return { id, status: 'Deregistered' };
  }
}

function validateDeregisterDevice(payload: unknown): ValidationResult<DeregisterDeviceCommand> {
  const { actor, id } = (payload ?? {}) as { actor?: unknown; id?: unknown };
  if (typeof actor !== 'string' || actor === '') return { ok: false, reason: 'actor is required' };
  if (typeof id !== 'string' || id === '') return { ok: false, reason: 'id is required' };
  return { ok: true, value: { actor, id } };
}

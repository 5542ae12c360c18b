import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, queueGroup, RegisterDeviceDto, Services, type DeviceRegistration, type RegisterDeviceCommand,
} from '@hotswap/contracts';
import {
  deviceInboxPrefix, mintDeviceCredentials, SERVICE_RUNTIME, validateWith,
  type BusSubscription, type ServiceRuntime, type ValidationResult,
} from '@hotswap/infrastructure';
import { DeviceCommands } from '../../device-commands.js';
import { DEVICE_REGISTRY_OPTIONS, type DeviceRegistryOptions } from '../../device-registry.options.js';

class CredentialsUnavailableError extends Error {
  readonly code = 'UNAVAILABLE';
}

/**
 * `RegisterDevice` from the API (`POST /api/v1/devices`): records the device ahead of its first
 * connection and mints its NATS credentials, which allow only its own subjects.
 */
@Injectable()
export class RegisterDeviceHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DEVICE_REGISTRY_OPTIONS) private readonly options: DeviceRegistryOptions,
    private readonly commands: DeviceCommands,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.registerDevice, {
      queue: queueGroup(Services.deviceRegistry),
      validate: validateRegisterDevice,
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  async execute(command: RegisterDeviceCommand, traceparent?: string): Promise<DeviceRegistration> {
    const trust = this.options.natsTrust;
    if (!trust) throw new CredentialsUnavailableError('device credentials cannot be issued: the device registry has no NATS trust configured');
    const id = command.id ?? `dev-${randomBytes(6).toString('hex')}`;
    await this.commands.run('RegisterDevice', {
      deviceId: id, deviceType: command.deviceType, region: command.region,
      capabilities: command.capabilities, tags: command.tags ?? [], connected: false,
    }, command.actor, traceparent);
    const expiresAt = new Date(this.runtime.clock().getTime() + this.options.credentialsTtlMs);
    const credentials = await mintDeviceCredentials(trust, id, { expiresAt });
    return { id, token: credentials.creds, inboxPrefix: deviceInboxPrefix(id), expiresAt: expiresAt.toISOString() };
  }
}

async function validateRegisterDevice(payload: unknown): Promise<ValidationResult<RegisterDeviceCommand>> {
  const { actor, ...rest } = (payload ?? {}) as { actor?: unknown };
  if (typeof actor !== 'string' || actor === '') return { ok: false, reason: 'actor is required' };
  const checked = await validateWith(RegisterDeviceDto)(rest);
  return checked.ok ? { ok: true, value: { ...(checked.value as RegisterDeviceDto), actor } } : checked;
}

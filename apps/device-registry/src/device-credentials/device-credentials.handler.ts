import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CredentialsRequest, DeviceSubjects, deviceIdOfSubject, queueGroup, Services, type CredentialsReply } from '@hotswap/contracts';
import { NotFoundError } from '@hotswap/domain';
import {
  deviceInboxPrefix, mintDeviceCredentials, SERVICE_RUNTIME, validateWith, type BusSubscription, type ServiceRuntime,
} from '@hotswap/infrastructure';
import { DEVICE_REGISTRY_OPTIONS, type DeviceRegistryOptions } from '../device-registry.options.js';
import { DevicesReadModel } from '../projections/devices/devices.read-model.js';

/**
 * `.credentials`: a registered device renews its short-lived NATS credentials over its own subject
 * before they expire. A deregistered device is refused, so its credentials lapse at their expiry:
 * that is how deletion revokes them on a server whose account JWT cannot be updated (`resolver: MEMORY`).
 */
@Injectable()
export class DeviceCredentialsHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DEVICE_REGISTRY_OPTIONS) private readonly options: DeviceRegistryOptions,
    private readonly devices: DevicesReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(DeviceSubjects.all.credentials, {
      queue: queueGroup(Services.deviceRegistry), validate: validateWith(CredentialsRequest), envelope: false,
      handler: async (request, ctx) => {
        if (deviceIdOfSubject(ctx.subject) !== request.deviceId) {
          throw Object.assign(new Error(`message on ${ctx.subject} speaks for device ${request.deviceId}`), { code: 'BAD_REQUEST' });
        }
        return this.renew(request.deviceId);
      },
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  async renew(deviceId: string): Promise<CredentialsReply> {
    const trust = this.options.natsTrust;
    if (!trust) throw Object.assign(new Error('device credentials cannot be issued: the device registry has no NATS trust configured'), { code: 'UNAVAILABLE' });
    const refusal = await this.devices.refusalOf(deviceId);
    if (refusal !== undefined) throw new NotFoundError(`${refusal}; its credentials are not renewed`);
    const expiresAt = new Date(this.runtime.clock().getTime() + this.options.credentialsTtlMs);
    const credentials = await mintDeviceCredentials(trust, deviceId, { expiresAt });
    return { token: credentials.creds, inboxPrefix: deviceInboxPrefix(deviceId), expiresAt: expiresAt.toISOString() };
  }
}

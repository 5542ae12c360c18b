import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  DeviceAnnouncement, DeviceStatusReport, DeviceSubjects, deviceIdOfSubject, Heartbeat, queueGroup, Services, type RegisterReply,
} from '@hotswap/contracts';
import { closeAll, SERVICE_RUNTIME, validateWith, type BusSubscription, type MessageContext, type ServiceRuntime } from '@hotswap/infrastructure';
import { DeviceCommands } from '../device-commands.js';
import { DevicesReadModel } from '../projections/devices/devices.read-model.js';

/** A device may only speak for itself: the subject's device id must be the payload's. */
function assertSameDevice(ctx: MessageContext, deviceId: string): void {
  const fromSubject = deviceIdOfSubject(ctx.subject);
  if (fromSubject !== deviceId) {
    throw Object.assign(new Error(`message on ${ctx.subject} speaks for device ${deviceId}`), { code: 'BAD_REQUEST' });
  }
}

/** The device plane as the registry hears it: announcements, heartbeats and swap progress. */
@Injectable()
export class DevicePlaneHandlers implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly commands: DeviceCommands,
    private readonly devices: DevicesReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.deviceRegistry);
    const { bus } = this.runtime;
    this.subscriptions = await Promise.all([
      bus.handle(DeviceSubjects.all.register, {
        queue, validate: validateWith(DeviceAnnouncement), envelope: false,
        handler: async (a, ctx): Promise<RegisterReply> => {
          assertSameDevice(ctx, a.deviceId);
          const { cpuCores, gpu, memoryMb, storageMb } = a.capabilities;
          await this.commands.run('RegisterDevice', {
            deviceId: a.deviceId, deviceType: a.deviceType, region: a.region,
            capabilities: { cpuCores, gpu, memoryMb, storageMb }, tags: a.tags ?? [],
          }, a.deviceId, ctx.traceparent);
          await this.devices.touch(a.deviceId, this.runtime.clock().toISOString());
          return { accepted: true, deviceId: a.deviceId };
        },
      }),
      bus.subscribe(DeviceSubjects.all.heartbeat, {
        queue, validate: validateWith(Heartbeat),
        handler: async (h, ctx) => {
          assertSameDevice(ctx, h.deviceId);
          // Heartbeats are not events: only the transition back from Offline is.
          const status = await this.devices.touch(h.deviceId, this.runtime.clock().toISOString());
          if (status === undefined) return this.refuse(ctx, (await this.devices.refusalOf(h.deviceId)) ?? `device ${h.deviceId} is not registered`);
          if (status === 'Offline') await this.commands.run('RecordHeartbeat', { deviceId: h.deviceId }, h.deviceId, ctx.traceparent);
        },
      }),
      bus.subscribe(DeviceSubjects.all.status, {
        queue, validate: validateWith(DeviceStatusReport),
        handler: async (r, ctx) => {
          assertSameDevice(ctx, r.deviceId);
          const refusal = await this.devices.refusalOf(r.deviceId);
          if (refusal !== undefined) return this.refuse(ctx, refusal);
          const distribution = r.distributionId ? { distributionId: r.distributionId } : {};
          if (r.phase === 'received' && r.distributionId) {
            await this.commands.run('StartUpdate', { deviceId: r.deviceId, modelId: r.modelId, distributionId: r.distributionId }, r.deviceId, ctx.traceparent);
          } else if (r.phase === 'swapped') {
            await this.commands.run('ActivateModel', {
              deviceId: r.deviceId, modelId: r.modelId, swapMs: r.timings?.totalMs ?? 0, ...distribution,
            }, r.deviceId, ctx.traceparent);
          } else if (r.phase === 'failed') {
            await this.commands.run('FailUpdate', {
              deviceId: r.deviceId, modelId: r.modelId, reason: r.reason ?? 'unknown', ...distribution,
            }, r.deviceId, ctx.traceparent);
          }
        },
      }),
    ]);
  }

  /** A fire-and-forget message the control plane will not act on: dropped, with the reason logged. */
  private refuse(ctx: MessageContext, reason: string): void {
    this.runtime.logger.warn('refused device message', { subject: ctx.subject, reason });
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

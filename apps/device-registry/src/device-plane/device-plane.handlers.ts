import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  DeviceAnnouncement, DeviceStatusReport, DeviceSubjects, deviceIdOfSubject, Heartbeat, queueGroup, Services, type RegisterReply,
} from '@hotswap/contracts';
import { closeAll, SERVICE_RUNTIME, validateWith, type BusSubscription, type MessageContext, type ServiceRuntime } from '@hotswap/infrastructure';
import { DeviceCommands } from '../device-commands.js';
import { DevicesReadModel } from '../projections/devices/devices.read-model.js';
import { HeartbeatLimiter } from '../heartbeat-limit/heartbeat-limiter.js';

/**
 * Handlers run at once per message kind. A fleet registering or reporting together (10 000
 * devices) would otherwise start every handler at once, and the projection their read-your-writes
 * waits for starved behind them (every first registration of 10 000 failed its 10 s wait).
 * Registrations over the queue are answered UNAVAILABLE, and devices ask again after a backoff;
 * heartbeats over it are dropped (the next one comes in seconds); swap reports are kept.
 */
const REGISTER_LIMIT = { maxConcurrent: 64, maxQueued: 1_000 } as const;
const HEARTBEAT_LIMIT = { maxConcurrent: 64, maxQueued: 10_000 } as const;
const STATUS_LIMIT = { maxConcurrent: 64, maxQueued: 100_000 } as const;

/** Swap progress is recorded, not read back: a burst of reports must not queue behind the projection. */
const NO_WAIT = { wait: false } as const;

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
    private readonly heartbeatLimit: HeartbeatLimiter,
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.deviceRegistry);
    const { bus } = this.runtime;
    this.subscriptions = await Promise.all([
      bus.handle(DeviceSubjects.all.register, {
        queue, validate: validateWith(DeviceAnnouncement), envelope: false, limit: REGISTER_LIMIT,
        handler: async (a, ctx): Promise<RegisterReply> => {
          assertSameDevice(ctx, a.deviceId);
          const { cpuCores, gpu, memoryMb, storageMb, transport } = a.capabilities;
          const { events } = await this.commands.run('RegisterDevice', {
            deviceId: a.deviceId, deviceType: a.deviceType, region: a.region,
            capabilities: { cpuCores, gpu, memoryMb, storageMb, ...(transport !== undefined ? { transport } : {}) }, tags: a.tags ?? [],
          }, a.deviceId, ctx.traceparent);
          // DeviceCameOnline stamped the heartbeat already; a fleet registering at once must not pay a second write each.
          if (!events.some((e) => e.type === 'DeviceCameOnline')) await this.devices.touch(a.deviceId, this.runtime.clock().toISOString());
          return { accepted: true, deviceId: a.deviceId };
        },
      }),
      bus.subscribe(DeviceSubjects.all.heartbeat, {
        queue, validate: validateWith(Heartbeat), limit: HEARTBEAT_LIMIT,
        handler: async (h, ctx) => {
          assertSameDevice(ctx, h.deviceId);
          if (!(await this.heartbeatLimit.admit(h.deviceId))) return;
          // Heartbeats are not events: only the transition back from Offline is.
          const status = await this.devices.touch(h.deviceId, this.runtime.clock().toISOString());
          if (status === undefined) return this.refuse(ctx, (await this.devices.refusalOf(h.deviceId)) ?? `device ${h.deviceId} is not registered`);
          // Not waited for: a heartbeat that still reads Offline meanwhile decides nothing new.
          if (status === 'Offline') await this.commands.run('RecordHeartbeat', { deviceId: h.deviceId }, h.deviceId, ctx.traceparent, NO_WAIT);
        },
      }),
      bus.subscribe(DeviceSubjects.all.status, {
        queue, validate: validateWith(DeviceStatusReport), limit: STATUS_LIMIT,
        handler: async (r, ctx) => {
          assertSameDevice(ctx, r.deviceId);
          // The registry records a swap's start, end and failure; the phases in between are for the
          // distributor. Skipping them before the lookup saves four reads of six per swap.
          const recorded = (r.phase === 'received' && r.distributionId !== undefined) || r.phase === 'swapped' || r.phase === 'failed';
          if (!recorded) return;
          const refusal = await this.devices.refusalOf(r.deviceId);
          if (refusal !== undefined) return this.refuse(ctx, refusal);
          const distribution = r.distributionId ? { distributionId: r.distributionId } : {};
          if (r.phase === 'received' && r.distributionId) {
            await this.commands.run('StartUpdate', { deviceId: r.deviceId, modelId: r.modelId, distributionId: r.distributionId }, r.deviceId, ctx.traceparent, NO_WAIT);
          } else if (r.phase === 'swapped') {
            await this.commands.run('ActivateModel', {
              deviceId: r.deviceId, modelId: r.modelId, swapMs: r.timings?.totalMs ?? 0, ...distribution,
            }, r.deviceId, ctx.traceparent, NO_WAIT);
          } else if (r.phase === 'failed') {
            await this.commands.run('FailUpdate', {
              deviceId: r.deviceId, modelId: r.modelId, reason: r.reason ?? 'unknown', ...distribution,
            }, r.deviceId, ctx.traceparent, NO_WAIT);
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

import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  DeviceStatusReport, DeviceSubjects, deviceIdOfSubject, queueGroup, Services, SyncRequest, type SyncReply,
} from '@hotswap/contracts';
import { closeAll, SERVICE_RUNTIME, validateWith, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';
import { DistributionCommands } from '../distribution-commands.js';
import { DesiredState } from '../dispatch/desired-state.js';
import { DeregisteredDevicesReadModel } from '../projections/deregistered-devices/deregistered-devices.read-model.js';
import { SwapCommands } from '../dispatch/swap-commands.js';

/** Swap results from devices, and `sync` requests from devices that (re)connect (refused once deregistered). */
@Injectable()
export class DistributorDevicePlane implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly distributions: DistributionCommands,
    private readonly desired: DesiredState,
    private readonly swapCommands: SwapCommands,
    private readonly deregistered: DeregisteredDevicesReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.distributor);
    const { bus } = this.runtime;
    this.subscriptions = await Promise.all([
      bus.subscribe(DeviceSubjects.all.status, {
        queue, validate: validateWith(DeviceStatusReport),
        handler: async (report, ctx) => {
          if (deviceIdOfSubject(ctx.subject) !== report.deviceId) {
            this.runtime.logger.warn('status report speaks for another device', { subject: ctx.subject, deviceId: report.deviceId });
            return;
          }
          if (!report.distributionId || (report.phase !== 'swapped' && report.phase !== 'failed')) return;
          await this.distributions.run('RecordTargetResult', {
            distributionId: report.distributionId, deviceId: report.deviceId, commandId: report.commandId,
            outcome: report.phase === 'swapped' ? 'swapped' : 'failed',
            swapMs: report.timings?.totalMs ?? 0,
            reason: report.reason ?? 'the device reported a failure without a reason',
          }, report.deviceId, ctx.traceparent);
        },
      }),
      bus.handle(DeviceSubjects.all.sync, {
        queue, validate: validateWith(SyncRequest), envelope: false,
        handler: async (request, ctx): Promise<SyncReply> => {
          if (deviceIdOfSubject(ctx.subject) !== request.deviceId) {
            throw Object.assign(new Error(`sync on ${ctx.subject} speaks for device ${request.deviceId}`), { code: 'BAD_REQUEST' });
          }
          const deregisteredAt = await this.deregistered.deregisteredAt(request.deviceId);
          if (deregisteredAt !== undefined) {
            throw Object.assign(new Error(`device ${request.deviceId} was deregistered at ${deregisteredAt}; it gets no model until it is registered again`), { code: 'NOT_FOUND' });
          }
          const desired = await this.desired.get(request.deviceId);
          return { desired: desired ? await this.swapCommands.build(desired) : null };
        },
      }),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queries, type DeviceEvent, type DeviceRegistered, type DeviceView } from '@hotswap/contracts';
import { ProjectionRunner, SERVICE_RUNTIME, type ServiceRuntime, type StoredEvent } from '@hotswap/infrastructure';
import { TargetClaims } from '../claims/target-claims.js';
import { DistributionCommands } from '../distribution-commands.js';
import { fleetOf, matchesFilter } from '../planning/plan-requests.js';
import { DistributionsReadModel } from '../projections/distributions/distributions.read-model.js';

/**
 * Devices that join a targeted group while a distribution runs are included: a device registered
 * (or re-registered with new attributes) that matches an active distribution's target filter is
 * claimed and added to it. Checkpointed, so a restart misses none.
 */
@Injectable()
export class DynamicTargets implements OnModuleInit, OnModuleDestroy {
  private readonly runner: ProjectionRunner;
  private readonly queue: DeviceRegistered['data'][] = [];
  private draining?: Promise<void>;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly distributions: DistributionCommands,
    private readonly readModel: DistributionsReadModel,
    private readonly claims: TargetClaims,
  ) {
    this.runner = new ProjectionRunner({
      store: runtime.eventStore, db: runtime.db,
      projection: { name: 'distributor.dynamic-targets', eventTypes: ['DeviceRegistered'], migrations: [], apply: (_tx, events) => this.apply(events) },
    });
  }

  async onModuleInit(): Promise<void> {
    await this.runner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runner.stop();
    this.queue.length = 0;
    await this.draining;
  }

  /**
   * Queues the devices and returns: the work asks other services, whose queries may need the
   * read-model database this projection's transaction holds (one PGlite connection embedded).
   */
  private async apply(events: readonly StoredEvent[]): Promise<void> {
    for (const stored of events) {
      const event = { type: stored.type, data: stored.data } as DeviceEvent;
      if (event.type === 'DeviceRegistered') this.queue.push(event.data);
    }
    if (this.queue.length > 0 && this.draining === undefined) {
      this.draining = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain()).finally(() => {
        this.draining = undefined;
      });
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const registered = this.queue.shift() as DeviceRegistered['data'];
      try {
        await this.consider(registered);
      } catch (error) {
        this.runtime.logger.warn('could not add a joining device to a distribution', { deviceId: registered.deviceId, error: String(error) });
      }
    }
  }

  /**
   * Matches the device as the event describes it: the registry's own read model may not have
   * projected it yet. What it runs (for a later rollback) comes from the registry when known.
   */
  private async consider(registered: DeviceRegistered['data']): Promise<void> {
    const active = await this.readModel.activeWithFilter();
    if (active.length === 0) return;
    const known = await this.device(registered.deviceId);
    const device: DeviceView = {
      id: registered.deviceId, deviceType: registered.deviceType, region: registered.region, capabilities: registered.capabilities,
      tags: [...registered.tags], currentModelId: known?.currentModelId ?? null, status: known?.status ?? 'Online',
      lastHeartbeat: known?.lastHeartbeat ?? null, lastSwapMs: known?.lastSwapMs ?? null,
    };
    for (const { id, filter } of active) {
      if (matchesFilter(device, filter)) await this.add(id, device);
    }
  }

  private async add(distributionId: string, device: DeviceView): Promise<void> {
    try {
      await this.claims.claim(distributionId, [device.id], (holder) => this.distributions.isFinished(holder));
    } catch {
      return; // another active distribution holds it: the one-distribution-per-device rule wins
    }
    const fleet = fleetOf([device]);
    const { events } = await this.distributions.run('AddTargets', { distributionId, deviceIds: [device.id], fleet }, 'system:distributor');
    if (events.length === 0) await this.claims.release(distributionId, [device.id]);
    else this.runtime.logger.info('device joined a running distribution', { distributionId, deviceId: device.id });
  }

  private async device(id: string): Promise<DeviceView | undefined> {
    try {
      return await this.runtime.bus.request<{ id: string }, DeviceView>(Queries.getDevice, { id }, { timeoutMs: 5_000 });
    } catch {
      return undefined;
    }
  }
}

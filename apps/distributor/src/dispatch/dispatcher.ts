import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ArtifactTransport, DistributionEvent, ModelVersionDeleted } from '@hotswap/contracts';
import { ProjectionRunner, SERVICE_RUNTIME, type Projection, type ServiceRuntime, type SqlExecutor, type StoredEvent } from '@hotswap/infrastructure';
import { DeviceDrivers } from '../affinity/device-drivers.js';
import { DesiredState } from './desired-state.js';
import { SwapCommands, type DesiredModel } from './swap-commands.js';

/**
 * Reacts to `TargetUpdateRequested` and `TargetRollbackRequested`: records the device's desired
 * model in KV, then hands the swap command to the instance that drives the device (`DeviceDrivers`). It runs as a checkpointed projection, so a restart resumes where it stopped; a command
 * sent twice is harmless because devices dedupe by command id, and a device that misses it
 * converges through `sync`.
 */
@Injectable()
export class Dispatcher implements OnModuleInit, OnModuleDestroy {
  private readonly runner: ProjectionRunner;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly desired: DesiredState,
    private readonly swapCommands: SwapCommands,
    private readonly drivers: DeviceDrivers,
  ) {
    const projection: Projection = {
      name: 'distributor.dispatch',
      eventTypes: ['DistributionCreated', 'ModelVersionDeleted', 'TargetUpdateRequested', 'TargetRollbackRequested'],
      migrations: [
        `CREATE TABLE IF NOT EXISTS distributor_distributions (id text PRIMARY KEY, model_id text NOT NULL)`,
        `ALTER TABLE distributor_distributions ADD COLUMN IF NOT EXISTS rollback boolean NOT NULL DEFAULT false`,
        `ALTER TABLE distributor_distributions ADD COLUMN IF NOT EXISTS transport text`,
      ],
      apply: (tx, events) => this.apply(tx, events),
    };
    this.runner = new ProjectionRunner({ store: runtime.eventStore, db: runtime.db, projection });
  }

  async onModuleInit(): Promise<void> {
    await this.runner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runner.stop();
    await Promise.allSettled([...this.inFlight]);
  }

  private async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const stored of events) {
      const event = { type: stored.type, data: stored.data } as DistributionEvent | ModelVersionDeleted;
      if (event.type === 'DistributionCreated') {
        await tx.query('INSERT INTO distributor_distributions (id, model_id, rollback, transport) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
          [event.data.distributionId, event.data.modelId, event.data.rollback === true, event.data.transport ?? null]);
      } else if (event.type === 'ModelVersionDeleted') {
        // The id may be uploaded again with other bytes: its cached artifact is stale.
        this.swapCommands.forget(event.data.modelId);
      } else if (event.type === 'TargetUpdateRequested' || event.type === 'TargetRollbackRequested') {
        const rows = await tx.query<{ model_id: string; rollback: boolean; transport: ArtifactTransport | null }>(
          'SELECT model_id, rollback, transport FROM distributor_distributions WHERE id = $1', [event.data.distributionId]);
        const row = rows.rows[0];
        if (!row) continue;
        // A transport the distribution forced holds for its rollbacks too (the site's links are the same).
        const transport = row.transport ? { transport: row.transport } : {};
        // Going back to what a device ran before needs the signed rollback instruction.
        const desired: DesiredModel = event.type === 'TargetRollbackRequested'
          ? { modelId: event.data.toModelId, commandId: event.data.commandId, distributionId: event.data.distributionId, rollback: true, ...transport }
          : { modelId: event.data.modelId, commandId: event.data.commandId, distributionId: event.data.distributionId, ...(row.rollback ? { rollback: true } : {}), ...transport };
        await this.desired.set(event.data.deviceId, desired);
        // The instance that drives the device (device affinity) sends it, in event order.
        this.track(this.drivers.drive(event.data.deviceId, stored.position, desired, String(stored.metadata?.['traceparent'] ?? '') || undefined));
      }
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}

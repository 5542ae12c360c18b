import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DeviceSubjects, type CommandAck, type DistributionEvent, type ModelVersionDeleted } from '@hotswap/contracts';
import { ProjectionRunner, SERVICE_RUNTIME, type Projection, type ServiceRuntime, type SqlExecutor, type StoredEvent } from '@hotswap/infrastructure';
import { DISTRIBUTOR_OPTIONS, type DistributorOptions } from '../distributor.options.js';
import { DesiredState } from './desired-state.js';
import { SwapCommands, type DesiredModel } from './swap-commands.js';

/**
 * Reacts to `TargetUpdateRequested`: records the device's desired model in KV, then sends the swap
 * command. It runs as a checkpointed projection, so a restart resumes where it stopped; a command
 * sent twice is harmless because devices dedupe by command id, and a device that misses it
 * converges through `sync`.
 */
@Injectable()
export class Dispatcher implements OnModuleInit, OnModuleDestroy {
  private readonly runner: ProjectionRunner;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DISTRIBUTOR_OPTIONS) private readonly options: DistributorOptions,
    private readonly desired: DesiredState,
    private readonly swapCommands: SwapCommands,
  ) {
    const projection: Projection = {
      name: 'distributor.dispatch',
      migrations: [
        `CREATE TABLE IF NOT EXISTS distributor_distributions (id text PRIMARY KEY, model_id text NOT NULL)`,
        `ALTER TABLE distributor_distributions ADD COLUMN IF NOT EXISTS rollback boolean NOT NULL DEFAULT false`,
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
        await tx.query('INSERT INTO distributor_distributions (id, model_id, rollback) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
          [event.data.distributionId, event.data.modelId, event.data.rollback === true]);
      } else if (event.type === 'ModelVersionDeleted') {
        // The id may be uploaded again with other bytes: its cached artifact is stale.
        this.swapCommands.forget(event.data.modelId);
      } else if (event.type === 'TargetUpdateRequested') {
        const rows = await tx.query<{ model_id: string; rollback: boolean }>('SELECT model_id, rollback FROM distributor_distributions WHERE id = $1', [event.data.distributionId]);
        const modelId = rows.rows[0]?.model_id;
        if (!modelId) continue;
        const desired = {
          modelId, commandId: event.data.commandId, distributionId: event.data.distributionId, ...(rows.rows[0]?.rollback ? { rollback: true } : {}),
        };
        await this.desired.set(event.data.deviceId, desired);
        this.track(this.send(event.data.deviceId, desired, String(stored.metadata?.['traceparent'] ?? '')));
      }
    }
  }

  private async send(deviceId: string, desired: DesiredModel, traceparent: string): Promise<void> {
    try {
      const command = await this.swapCommands.build(desired);
      const ack = await this.runtime.bus.request<typeof command, CommandAck>(DeviceSubjects.command(deviceId), command, {
        timeoutMs: this.options.commandAckTimeoutMs, envelope: false, ...(traceparent ? { headers: { traceparent } } : {}),
      });
      if (!ack.accepted) this.runtime.logger.warn('device refused a swap command', { deviceId, commandId: desired.commandId, reason: ack.reason });
    } catch (error) {
      // The desired state is in KV: the device converges through `sync` when it comes back.
      this.runtime.logger.warn('swap command not acknowledged; the device will converge on sync', { deviceId, error: String(error) });
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}

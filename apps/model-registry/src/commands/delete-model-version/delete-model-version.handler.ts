import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, Queries, queueGroup, Services,
  type DeviceView, type DistributionsUsingModelQuery, type DistributionsUsingModelView, type ListDevicesQuery, type ModelVersionCommand,
  type ModelVersionDeletedReply, type ModelVersionDeleted, type Page,
} from '@hotswap/contracts';
import { IllegalStateError, modelDecider, type ModelCommand } from '@hotswap/domain';
import { SERVICE_RUNTIME, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';
import { ModelsReadModel } from '../../projections/models/models.read-model.js';
import { idOf, modelState, PEER_TIMEOUT_MS, runModelCommand, validateVersionCommand } from '../model-version-command.js';

/** At most this many devices are named when a delete is refused; the rest are counted. */
const NAMED_DEVICES = 10;

/**
 * `DeleteModelVersion` (GDPR erasure): refused while any device runs the version or any active
 * distribution uses it; otherwise the artifact is removed from the store, then
 * `ModelVersionDeleted` is recorded with the caller as actor. Bytes first: if recording fails the
 * delete can be retried, whereas an event recorded before a failed removal would leave bytes
 * behind that nothing points at any more. A peer that does not answer refuses the delete.
 */
@Injectable()
export class DeleteModelVersionHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly models: ModelsReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.deleteModelVersion, {
      queue: queueGroup(Services.modelRegistry),
      validate: validateVersionCommand<ModelVersionCommand>(),
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  async execute(command: ModelVersionCommand, traceparent?: string): Promise<ModelVersionDeletedReply> {
    const id = idOf(command);
    const remove: Omit<ModelCommand, 'metadata'> = { type: 'DeleteModelVersion', data: { modelId: id } };
    // Decide once up front, so an unknown or busy version is refused before anyone else is asked.
    const state = await modelState(this.runtime, id);
    const [decided] = modelDecider.decide({ ...remove, metadata: { now: this.runtime.clock().toISOString() } } as ModelCommand, state) as ModelVersionDeleted[];
    await this.refuseWhileRunning(id);
    await this.refuseWhileDistributed(id);
    await this.runtime.artifacts.delete(decided.data.artifactKey);
    const result = await runModelCommand(this.runtime, id, remove, command.actor, traceparent);
    if (result.position !== undefined) await this.models.waitFor(result.position);
    const recorded = result.events[0] as ModelVersionDeleted;
    return { id, name: command.name, version: command.version, status: 'Deleted', deletedAt: recorded.data.at, deletedBy: command.actor };
  }

  private async refuseWhileRunning(id: string): Promise<void> {
    const running = await this.runtime.bus.request<ListDevicesQuery, Page<DeviceView>>(
      Queries.listDevices, { modelId: id, limit: NAMED_DEVICES }, { timeoutMs: PEER_TIMEOUT_MS },
    );
    if (running.total === 0) return;
    const names = running.items.map((d) => d.id);
    const more = running.total > names.length ? ` and ${running.total - names.length} more` : '';
    throw Object.assign(
      new IllegalStateError(
        `model ${id} runs on ${running.total} device${running.total > 1 ? 's' : ''} (${names.join(', ')}${more}); move them to another version before deleting it`,
      ),
      { details: { devices: names, deviceCount: running.total } },
    );
  }

  private async refuseWhileDistributed(id: string): Promise<void> {
    const { items } = await this.runtime.bus.request<DistributionsUsingModelQuery, DistributionsUsingModelView>(
      Queries.distributionsUsingModel, { modelId: id }, { timeoutMs: PEER_TIMEOUT_MS },
    );
    if (items.length === 0) return;
    throw Object.assign(
      new IllegalStateError(
        `model ${id} is used by ${items.length === 1 ? 'an active distribution' : `${items.length} active distributions`} (${items.map((d) => `${d.id} ${d.status}`).join(', ')}); wait for ${items.length === 1 ? 'it' : 'them'} to finish before deleting it`,
      ),
      { details: { distributions: items } },
    );
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { FINISHED_DISTRIBUTION_STATUSES, Streams, type DistributionEvent } from '@hotswap/contracts';
import { distributionDecider, type DistributionCommand, type DistributionState } from '@hotswap/domain';
import {
  handleCommand, handleCommands, loadState, SERVICE_RUNTIME, StateCache, type BatchedCommand, type HandledCommand, type ServiceRuntime,
} from '@hotswap/infrastructure';
import { recordDistributionMetrics } from './distribution-metrics.js';

type DataOf<T extends DistributionCommand['type']> = Extract<DistributionCommand, { type: T }>['data'];

/** A device report waiting for the next batch of its distribution, with its caller's promise. */
interface PendingResult extends BatchedCommand<DistributionCommand> {
  resolve(result: HandledCommand<DistributionEvent>): void;
  reject(error: unknown): void;
}

/** Reports decided and appended together: one commit stays far below NATS's 1 MB payload. */
const MAX_RESULTS_PER_BATCH = 200;

/** Runs distribution commands against their stream (read, decide, append, retry on conflict). */
@Injectable()
export class DistributionCommands {
  /** Distributions are advanced every tick: their folded states are cached and only new events read. */
  private readonly cache = new StateCache<DistributionState>(200);

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  /**
   * Commands to one distribution run one at a time in this process: a thousand devices reporting at
   * once would otherwise race for the stream's next version and exhaust the conflict retries
   * (losing reports). Other instances still conflict now and then; those are retried.
   */
  private readonly queues = new Map<string, Promise<unknown>>();
  /**
   * Device reports (`RecordTargetResult`) waiting per distribution: whatever arrived while the
   * previous command ran is decided and appended as one batch. A rollout's reports then cost one
   * append per batch, not one each, and several instances recording reports no longer race each
   * other for every version (which exhausted the conflict retries and lost reports).
   */
  private readonly pendingResults = new Map<string, PendingResult[]>();

  run<T extends DistributionCommand['type']>(
    type: T, data: DataOf<T> & { distributionId: string }, actor: string, traceparent?: string,
  ): Promise<HandledCommand<DistributionEvent>> {
    const id = data.distributionId;
    if (type === 'RecordTargetResult') return this.recordResult({ type, data } as DistributionCommand, actor, traceparent);
    return this.enqueue(id, () => this.runNow({ type, data } as Pick<DistributionCommand, 'type' | 'data'>, actor, traceparent));
  }

  private enqueue<T>(id: string, job: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(job);
    this.queues.set(id, next);
    void next.catch(() => undefined).finally(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
    });
    return next;
  }

  private recordResult(command: DistributionCommand, actor: string, traceparent?: string): Promise<HandledCommand<DistributionEvent>> {
    const id = command.data.distributionId;
    return new Promise((resolve, reject) => {
      const pending = this.pendingResults.get(id);
      // The metadata's `now` is set when the batch is decided, like a single command's.
      const item: PendingResult = { command, context: { actor, now: '', ...(traceparent ? { traceparent } : {}) }, resolve, reject };
      if (pending !== undefined) {
        pending.push(item);
        return;
      }
      this.pendingResults.set(id, [item]);
      void this.enqueue(id, () => this.recordBatch(id));
    });
  }

  /** Decides and appends the reports waiting for `id` (at most a batch; the rest go in the next one). */
  private async recordBatch(id: string): Promise<void> {
    const waiting = this.pendingResults.get(id) ?? [];
    const batch = waiting.splice(0, MAX_RESULTS_PER_BATCH);
    if (waiting.length === 0) this.pendingResults.delete(id);
    else void this.enqueue(id, () => this.recordBatch(id));
    if (batch.length === 0) return;
    const now = this.runtime.clock().toISOString();
    try {
      const handled = await handleCommands(this.runtime.eventStore, Streams.distribution(id), distributionDecider,
        batch.map(({ command, context }) => ({ command: { ...command, metadata: { now } } as DistributionCommand, context: { ...context, now } })),
        { cache: this.cache, maxAttempts: 20 });
      const all = handled.outcomes.flatMap((o) => (o.ok ? o.events : []));
      if (all.length > 0 && this.runtime.metrics !== undefined) recordDistributionMetrics(this.runtime.metrics, all, await this.state(id));
      handled.outcomes.forEach((outcome, i) => {
        if (outcome.ok) {
          batch[i]!.resolve({
            events: outcome.events,
            nextVersion: handled.nextVersion,
            ...(outcome.events.length > 0 && handled.position !== undefined ? { position: handled.position } : {}),
          });
        } else {
          batch[i]!.reject(outcome.error);
        }
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }

  private async runNow(
    { type, data }: Pick<DistributionCommand, 'type' | 'data'>, actor: string, traceparent?: string,
  ): Promise<HandledCommand<DistributionEvent>> {
    const now = this.runtime.clock().toISOString();
    const command = { type, data, metadata: { now } } as DistributionCommand;
    const result = await handleCommand(this.runtime.eventStore, Streams.distribution(data.distributionId), distributionDecider, command, { actor, traceparent, now }, { cache: this.cache, maxAttempts: 20 });
    if (result.events.length > 0 && this.runtime.metrics !== undefined) {
      recordDistributionMetrics(this.runtime.metrics, result.events, await this.state(data.distributionId));
    }
    return result;
  }

  /** Whether a distribution has finished (or does not exist), from its own stream: no read-model lag. */
  async isFinished(distributionId: string): Promise<boolean> {
    const state = await this.state(distributionId);
    return state.status === 'Empty' || FINISHED_DISTRIBUTION_STATUSES.includes(state.status);
  }

  async state(distributionId: string): Promise<DistributionState> {
    return (await loadState(this.runtime.eventStore, Streams.distribution(distributionId), distributionDecider, this.cache)).state;
  }
}

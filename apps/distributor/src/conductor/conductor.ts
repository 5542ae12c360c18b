import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import {
  FINISHED_DISTRIBUTION_STATUSES, Queries, Streams,
  type AbTestResultView, type TargetHealthQuery, type TargetHealthView,
} from '@hotswap/contracts';
import { advanceInputs, type DistributionState, type TargetHealth } from '@hotswap/domain';
import {
  recordedTraceparent, SERVICE_RUNTIME, SpanAttributes, Spans, withRemoteParentIf, type ServiceRuntime,
} from '@hotswap/infrastructure';
import { TargetClaims } from '../claims/target-claims.js';
import { DistributionCommands } from '../distribution-commands.js';
import { DISTRIBUTOR_OPTIONS, type DistributorOptions } from '../distributor.options.js';
import { Guardrails } from '../guardrails/guardrails.js';
import { DistributionsReadModel } from '../projections/distributions/distributions.read-model.js';
import { Ownership } from './ownership.js';

/** Health figures are asked for this many devices at a time. */
const HEALTH_BATCH = 500;

/**
 * The distributor's process manager. Every tick it claims (or keeps) the unfinished distributions
 * no live instance owns, and advances each one it owns: its timers (schedule, observation, device
 * timeouts, retries) are all derived from the event-sourced state and the clock, so a restarted or
 * new owner carries on exactly where the stream says the rollout is.
 */
@Injectable()
export class Conductor implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  /** `traceparent` of each distribution's `DistributionCreated`: its `distribution.execute` spans continue that trace. */
  private readonly traces = new Map<string, string | undefined>();
  /** Takeovers not recorded yet (the append failed): retried on the next pass, as the claim no longer says whose it was. */
  private readonly takeovers = new Map<string, string>();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DISTRIBUTOR_OPTIONS) private readonly options: DistributorOptions,
    private readonly distributions: DistributionCommands,
    private readonly readModel: DistributionsReadModel,
    private readonly ownership: Ownership,
    private readonly claims: TargetClaims,
    private readonly guardrails: Guardrails,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.options.tickIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    // Hand the distributions over at once rather than after the lease runs out.
    await Promise.all(this.ownership.owned().map((id) => this.ownership.release(id)));
  }

  /** One pass over the unfinished distributions; a pass still running is not overlapped. */
  tick(): Promise<void> {
    if (this.running !== undefined || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    let ids: string[];
    try {
      ids = await this.readModel.unfinished();
    } catch (error) {
      this.runtime.logger.warn('conductor could not list distributions', { error: String(error) });
      return;
    }
    for (const id of ids) {
      if (this.stopped) return;
      try {
        const acquired = await this.ownership.acquire(id);
        if (!acquired.mine) {
          this.takeovers.delete(id);
          continue;
        }
        if (acquired.tookOverFrom !== undefined) {
          this.runtime.logger.info('took over a distribution from a silent owner', { distributionId: id, from: acquired.tookOverFrom, to: this.ownership.instanceId });
          this.takeovers.set(id, acquired.tookOverFrom);
        }
        await this.recordTakeover(id);
        await this.advance(id);
      } catch (error) {
        this.runtime.logger.warn('could not advance a distribution', { distributionId: id, error: String(error) });
      }
    }
  }

  /** Advances one distribution with the figures its decision needs. */
  async advance(distributionId: string): Promise<void> {
    const state = await this.distributions.state(distributionId);
    if (state.status === 'Empty') return;
    if (FINISHED_DISTRIBUTION_STATUSES.includes(state.status)) return this.finish(distributionId, state);
    const now = this.runtime.clock().toISOString();
    // One `distribution.execute` span per advance that recorded something (requests, verdicts,
    // waves), child of `distribution.create`: the update requests carry it to the devices.
    const { events } = await withRemoteParentIf(await this.traceOf(distributionId), Spans.distributionExecute,
      { [SpanAttributes.distributionId]: distributionId, [SpanAttributes.modelId]: state.modelId },
      async () => {
        const inputs = advanceInputs(state, now);
        const health = inputs.health.length > 0 ? await this.health(inputs.health) : undefined;
        const abResult = inputs.abResult ? await this.abResult(distributionId) : undefined;
        // A saturated distributor commands fewer devices per tick instead of falling over.
        const throttle = this.guardrails.throttle();
        return this.distributions.run('AdvanceDistribution', {
          distributionId, ...(health !== undefined ? { health } : {}), ...(abResult !== undefined ? { abResult } : {}),
          ...(throttle < 1 ? { throttle } : {}),
        }, 'system:distributor');
      },
      (result) => result.events.length > 0);
    const after = await this.distributions.state(distributionId);
    if (events.length > 0 && after.status !== 'Empty' && FINISHED_DISTRIBUTION_STATUSES.includes(after.status)) await this.finish(distributionId, after);
  }

  /**
   * Puts a takeover in the distribution's stream, before this owner's first decision: we hold the
   * claim (compare-and-set), so this instance is the stream's only conductor writer.
   */
  private async recordTakeover(distributionId: string): Promise<void> {
    const from = this.takeovers.get(distributionId);
    if (from === undefined) return;
    await this.distributions.run('RecordTakeover', { distributionId, from, to: this.ownership.instanceId, reason: 'lease expired' }, 'system:distributor');
    this.takeovers.delete(distributionId);
  }

  /** Releases the targets and the ownership of a distribution that finished (e.g. cancelled by an operator). */
  async finishIfDone(distributionId: string): Promise<void> {
    const state = await this.distributions.state(distributionId);
    if (state.status !== 'Empty' && FINISHED_DISTRIBUTION_STATUSES.includes(state.status)) await this.finish(distributionId, state);
  }

  private async traceOf(distributionId: string): Promise<string | undefined> {
    if (!this.traces.has(distributionId)) {
      this.traces.set(distributionId, await recordedTraceparent(this.runtime.eventStore, Streams.distribution(distributionId), ['DistributionCreated']));
    }
    return this.traces.get(distributionId);
  }

  private async finish(distributionId: string, state: Exclude<DistributionState, { status: 'Empty' }>): Promise<void> {
    this.traces.delete(distributionId);
    await this.claims.release(distributionId, state.targets);
    await this.ownership.release(distributionId);
  }

  private async health(targets: TargetHealthQuery['targets']): Promise<Record<string, TargetHealth> | undefined> {
    const byDevice: Record<string, TargetHealth> = {};
    try {
      for (let i = 0; i < targets.length; i += HEALTH_BATCH) {
        const view = await this.runtime.bus.request<TargetHealthQuery, TargetHealthView>(
          Queries.getTargetHealth, { targets: targets.slice(i, i + HEALTH_BATCH) }, { timeoutMs: 5_000 },
        );
        for (const item of view.items) {
          const { deviceId, ...figures } = item;
          byDevice[deviceId] = figures;
        }
      }
      return byDevice;
    } catch (error) {
      // Without figures the devices stay in their health window; the next tick asks again.
      this.runtime.logger.warn('monitor did not answer target health', { error: String(error) });
      return undefined;
    }
  }

  private async abResult(distributionId: string): Promise<AbTestResultView | undefined> {
    try {
      return await this.runtime.bus.request<{ id: string }, AbTestResultView>(Queries.getAbTestResult, { id: distributionId }, { timeoutMs: 5_000 });
    } catch (error) {
      this.runtime.logger.warn('monitor did not answer the A/B test result', { distributionId, error: String(error) });
      return undefined;
    }
  }
}

import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Commands, type ReportDegradationCommand } from '@hotswap/contracts';
import { RemoteError, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DistributionMonitor } from '../distributions/distribution-monitor.js';
import { MonitoredDistributionsReadModel } from '../distributions/monitored-distributions.read-model.js';
import { MONITOR_OPTIONS, type MonitorOptions } from '../monitor.options.js';

/** The actor of the monitor's reports. */
export const MONITOR_ACTOR = 'monitor';

/**
 * Every `detectionIntervalMs`, runs the degradation rules over each running or paused distribution
 * not yet found degraded, and reports the first broken rule to the distributor once per
 * distribution (the distributor ignores repeats too, e.g. from another monitor replica).
 */
@Injectable()
export class DegradationDetector implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** Distributions reported (or refused by the distributor): never reported again. */
  private readonly reported = new Set<string>();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(MONITOR_OPTIONS) private readonly options: MonitorOptions,
    private readonly distributions: MonitoredDistributionsReadModel,
    private readonly monitor: DistributionMonitor,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      // A slow round is not overlapped by the next one.
      this.running ??= this.runOnce().finally(() => { this.running = undefined; });
    }, this.options.detectionIntervalMs);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round over every watched distribution; a failure with one does not stop the others. */
  async runOnce(): Promise<void> {
    const ids = await this.distributions.watched().catch((error: unknown) => {
      this.runtime.logger.error('degradation detection could not list distributions', { error: String(error) });
      return [];
    });
    for (const id of ids) {
      if (this.reported.has(id)) continue;
      try {
        const finding = await this.monitor.degradationOf(id);
        if (finding) await this.report(id, { actor: MONITOR_ACTOR, distributionId: id, ...finding });
      } catch (error) {
        this.runtime.logger.error('degradation detection failed', { distributionId: id, error: String(error) });
      }
    }
  }

  private async report(id: string, command: ReportDegradationCommand): Promise<void> {
    this.runtime.logger.warn('degradation detected', { distributionId: id, trigger: command.trigger, detail: command.detail });
    try {
      await this.runtime.bus.request(Commands.reportDegradation, command, { timeoutMs: 5_000 });
      this.reported.add(id);
    } catch (error) {
      // A refusal (e.g. the distribution just finished) is final; no answer is retried next round.
      if (error instanceof RemoteError) {
        this.reported.add(id);
        this.runtime.logger.warn('degradation report refused', { distributionId: id, code: error.code, reason: error.message });
        return;
      }
      throw error;
    }
  }
}

import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ObservableResult } from '@opentelemetry/api';
import {
  assessSaturation, checkSaturationThresholds, DEFAULT_SATURATION_THRESHOLDS, NOT_SATURATED, trimReadings,
  type ResourceReading, type Saturation, type SaturationThresholds,
} from '@hotswap/domain';
import { GuardrailGauges, processResources, SERVICE_RUNTIME, type ResourceSampler, type ServiceRuntime } from '@hotswap/infrastructure';
import { DISTRIBUTOR_OPTIONS, type DistributorOptions } from '../distributor.options.js';

/** The distributor's resource guardrails, as configured (`HOTSWAP_DISTRIBUTOR_*`); every field has a default. */
export interface GuardrailOptions {
  /** Limits, window, hysteresis and throttle steps (`DEFAULT_SATURATION_THRESHOLDS`). */
  readonly thresholds?: Partial<SaturationThresholds>;
  /** How often the process is sampled and its saturation assessed. Default 1 s. */
  readonly sampleIntervalMs?: number;
  /** CPUs the CPU share is measured against; default the cgroup quota, else the machine's cores. */
  readonly cpuCores?: number;
  /** Memory limit, bytes; default the cgroup's memory.max, else the machine's memory. */
  readonly memoryLimitBytes?: number;
  /** Where readings come from; default this process (`processResources`). Tests inject their own. */
  readonly sampler?: ResourceSampler;
}

export const DEFAULT_SAMPLE_INTERVAL_MS = 1_000;
/** Name of the distributor's check in `GET /readyz`. */
export const SATURATION_CHECK = 'distributor.saturation';

/**
 * Samples the process (CPU time, memory) and keeps the distributor's saturation assessment
 * (`assessSaturation`): the conductor scales its device requests by `throttle()`, `/readyz` answers
 * 503 while saturated, and `distributor.saturated` / `distributor.throttle` show it.
 */
@Injectable()
export class Guardrails implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly thresholds: SaturationThresholds;
  private readonly sampler: ResourceSampler;
  private readonly sampleIntervalMs: number;
  private readings: ResourceReading[] = [];
  private state: Saturation = NOT_SATURATED;
  private timer?: NodeJS.Timeout;
  private readonly stops: Array<() => void> = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DISTRIBUTOR_OPTIONS) private readonly options: DistributorOptions,
  ) {
    const guardrails = options.guardrails ?? {};
    this.thresholds = checkSaturationThresholds({ ...DEFAULT_SATURATION_THRESHOLDS, ...guardrails.thresholds });
    this.sampleIntervalMs = guardrails.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    if (!(Number.isFinite(this.sampleIntervalMs) && this.sampleIntervalMs > 0)) {
      throw new RangeError(`guardrails: sampleIntervalMs must be a number > 0, got ${String(this.sampleIntervalMs)}`);
    }
    this.sampler = guardrails.sampler ?? processResources({
      ...(guardrails.cpuCores !== undefined ? { cpuCores: guardrails.cpuCores } : {}),
      ...(guardrails.memoryLimitBytes !== undefined ? { memoryLimitBytes: guardrails.memoryLimitBytes } : {}),
    });
  }

  onApplicationBootstrap(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.sampleIntervalMs);
    this.timer.unref();
    if (this.runtime.readiness !== undefined) {
      this.stops.push(this.runtime.readiness.register(SATURATION_CHECK, () => {
        const { saturated, reason } = this.state;
        return saturated ? { ready: false, reason: `distributor saturated: ${reason ?? 'over its limits'}` } : { ready: true };
      }));
    }
    this.observeGauges();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    for (const stop of this.stops.splice(0)) stop();
  }

  /** Share of the normal request allowance the conductor may use now, in (0, 1]. */
  throttle(): number {
    return this.state.throttle;
  }

  /** The latest assessment. */
  saturation(): Saturation {
    return this.state;
  }

  /** Takes a reading and assesses it; the timer calls it, tests may too. */
  sample(): Saturation {
    let reading: ResourceReading;
    try {
      reading = this.sampler.read();
    } catch (error) {
      // A failed reading changes nothing: the previous assessment stands until the next one.
      this.runtime.logger.warn('guardrails could not read the process resources', { error: String(error) });
      return this.state;
    }
    this.readings = trimReadings([...this.readings, reading], this.thresholds.windowMs);
    const previous = this.state;
    this.state = assessSaturation(previous, this.readings, this.thresholds);
    if (this.state.saturated && !previous.saturated) {
      this.runtime.logger.warn('distributor saturated: slowing rollouts', { reason: this.state.reason, throttle: this.state.throttle });
    } else if (!this.state.saturated && previous.saturated) {
      this.runtime.logger.info('distributor no longer saturated: rollouts speed up again', { cpuShare: this.state.cpuShare, memoryShare: this.state.memoryShare });
    }
    return this.state;
  }

  private observeGauges(): void {
    const metrics = this.runtime.metrics;
    if (metrics === undefined) return;
    // Replicas hosted in one process share the handle: each answers for its own instance.
    const attributes = { 'service.instance.id': this.options.instanceId };
    const saturated = metrics.meter.createObservableGauge(GuardrailGauges.saturated, { description: '1 while the distributor is saturated (CPU or memory over its limit), else 0' });
    const throttle = metrics.meter.createObservableGauge(GuardrailGauges.throttle, {
      description: 'Share of the normal request allowance the distributor uses now (1 = full rate)',
      unit: '1',
    });
    const observeSaturated = (result: ObservableResult) => result.observe(this.state.saturated ? 1 : 0, attributes);
    const observeThrottle = (result: ObservableResult) => result.observe(this.state.throttle, attributes);
    saturated.addCallback(observeSaturated);
    throttle.addCallback(observeThrottle);
    this.stops.push(() => {
      saturated.removeCallback(observeSaturated);
      throttle.removeCallback(observeThrottle);
    });
  }
}

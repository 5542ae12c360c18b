import { DEFAULT_DEGRADATION_RULES, type DegradationRules } from '@hotswap/domain';

export interface MonitorOptions extends DegradationRules {
  /**
   * Telemetry windows kept per device and model; older ones are dropped. They feed the
   * distributions' metrics and A/B tests; `GET /devices/{id}/metrics` shows the newest 60.
   * Default 720 (an hour of 5-second windows).
   */
  readonly windowsPerModel: number;
  /** How often the degradation rules run over every running distribution, in ms. Default 2000. */
  readonly detectionIntervalMs: number;
  /** The rules look at the new model's (and the control group's) windows that ended this recently, in ms. Default 60000. */
  readonly detectionWindowMs: number;
  /** A baseline from before the swap uses the old model's windows that ended this long before it, in ms. Default 60000. */
  readonly baselineWindowMs: number;
  /** Interval of the metrics' time series, in ms. Default 5000 (one device telemetry window). */
  readonly seriesIntervalMs: number;
  /** Where DegradationDetected alerts are POSTed as JSON; undefined = no webhook. */
  readonly alertWebhookUrl?: string;
  /** Attempts per alert before it is given up (and logged as an error). Default 6. */
  readonly alertMaxAttempts: number;
  /** Wait before the first retry of an alert, in ms; doubled for each further one. Default 1000. */
  readonly alertRetryBaseMs: number;
  /** How long one webhook call may take, in ms. Default 5000. */
  readonly alertTimeoutMs: number;
  /** How often pending alerts are looked for, in ms. Default 500. */
  readonly alertPollIntervalMs: number;
}

export const MONITOR_OPTIONS = Symbol.for('hotswap.monitor.options');

export const defaultMonitorOptions: MonitorOptions = {
  ...DEFAULT_DEGRADATION_RULES,
  windowsPerModel: 720,
  detectionIntervalMs: 2_000,
  detectionWindowMs: 60_000,
  baselineWindowMs: 60_000,
  seriesIntervalMs: 5_000,
  alertMaxAttempts: 6,
  alertRetryBaseMs: 1_000,
  alertTimeoutMs: 5_000,
  alertPollIntervalMs: 500,
};

/** The options with defaults filled in; a bad value throws a RangeError naming the option. */
export function resolveMonitorOptions(options: Partial<MonitorOptions>): MonitorOptions {
  const resolved = { ...defaultMonitorOptions, ...options };
  const positiveIntegers = ['windowsPerModel', 'minSamples', 'alertMaxAttempts'] as const;
  for (const name of positiveIntegers) {
    if (!Number.isSafeInteger(resolved[name]) || resolved[name] < 1) throw new RangeError(`MonitorOptions.${name} must be a positive integer, got ${resolved[name]}`);
  }
  const positive = ['detectionIntervalMs', 'detectionWindowMs', 'baselineWindowMs', 'seriesIntervalMs', 'alertRetryBaseMs', 'alertTimeoutMs', 'alertPollIntervalMs', 'maxLatencyIncrease'] as const;
  for (const name of positive) {
    if (!(resolved[name] > 0) || !Number.isFinite(resolved[name])) throw new RangeError(`MonitorOptions.${name} must be a positive number, got ${resolved[name]}`);
  }
  for (const name of ['maxErrorRate', 'maxAccuracyDrop', 'significanceLevel'] as const) {
    if (!(resolved[name] >= 0 && resolved[name] < 1)) throw new RangeError(`MonitorOptions.${name} must be a share from 0 to below 1, got ${resolved[name]}`);
  }
  if (resolved.latencyPercentile !== 'p95' && resolved.latencyPercentile !== 'p99') {
    throw new RangeError(`MonitorOptions.latencyPercentile must be p95 or p99, got ${String(resolved.latencyPercentile)}`);
  }
  if (resolved.alertWebhookUrl !== undefined && !URL.canParse(resolved.alertWebhookUrl)) {
    throw new RangeError(`MonitorOptions.alertWebhookUrl must be an absolute URL, got ${resolved.alertWebhookUrl}`);
  }
  return resolved;
}

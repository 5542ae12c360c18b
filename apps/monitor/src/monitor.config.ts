import { ConfigValueError, defineConfig, int, isoDuration, loadConfig, oneOf, url } from '@hotswap/infrastructure';
import type { MonitorOptions } from './monitor.options.js';

/** A share from 0 to below 1 (`0.05` = 5%). */
const share = (raw: string): number => {
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value >= 1) throw new ConfigValueError('must be a number from 0 to below 1, e.g. 0.05 for 5%');
  return value;
};

export const monitorConfig = defineConfig({
  windowsPerModel: { env: 'HOTSWAP_MONITOR_WINDOWS_KEPT', default: '720', parse: int({ min: 1 }), description: 'telemetry windows kept per device and model' },
  detectionIntervalMs: { env: 'HOTSWAP_MONITOR_DETECTION_INTERVAL', default: 'PT2S', parse: isoDuration, description: 'how often the degradation rules run (ISO 8601)' },
  detectionWindowMs: { env: 'HOTSWAP_MONITOR_DETECTION_WINDOW', default: 'PT1M', parse: isoDuration, description: 'recent telemetry the rules look at (ISO 8601)' },
  baselineWindowMs: { env: 'HOTSWAP_MONITOR_BASELINE_WINDOW', default: 'PT1M', parse: isoDuration, description: 'telemetry before a swap that forms the baseline (ISO 8601)' },
  minSamples: { env: 'HOTSWAP_DEGRADATION_MIN_SAMPLES', default: '200', parse: int({ min: 1 }), description: 'inferences a group and its baseline need before a rule is evaluated' },
  latencyPercentile: { env: 'HOTSWAP_DEGRADATION_LATENCY_PERCENTILE', default: 'p99', parse: oneOf(['p95', 'p99']), description: 'latency percentile compared with the baseline' },
  maxLatencyIncrease: { env: 'HOTSWAP_DEGRADATION_MAX_LATENCY_INCREASE', default: '0.2', parse: positive, description: 'relative latency rise over the baseline that triggers (0.2 = +20%)' },
  maxErrorRate: { env: 'HOTSWAP_DEGRADATION_MAX_ERROR_RATE', default: '0.05', parse: share, description: 'error rate above which the new model triggers (absolute)' },
  significanceLevel: { env: 'HOTSWAP_DEGRADATION_SIGNIFICANCE', default: '0.01', parse: share, description: 'p-value below which a latency or accuracy difference counts (one-sided)' },
  maxAccuracyDrop: { env: 'HOTSWAP_DEGRADATION_MAX_ACCURACY_DROP', default: '0.1', parse: share, description: 'relative accuracy drop below the baseline that triggers (0.1 = -10%)' },
  alertWebhookUrl: { env: 'HOTSWAP_ALERT_WEBHOOK_URL', optional: true, parse: url, description: 'URL the DegradationDetected alerts are POSTed to; none when unset' },
  alertMaxAttempts: { env: 'HOTSWAP_ALERT_MAX_ATTEMPTS', default: '6', parse: int({ min: 1 }), description: 'webhook attempts per alert' },
  alertRetryBaseMs: { env: 'HOTSWAP_ALERT_RETRY_BACKOFF', default: 'PT1S', parse: isoDuration, description: 'wait before the first webhook retry, doubled each time (ISO 8601)' },
});

function positive(raw: string): number {
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) throw new ConfigValueError('must be a positive number');
  return value;
}

/** The monitor's options from the environment (unset = the documented defaults). */
export function monitorOptionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Partial<MonitorOptions> {
  const { alertWebhookUrl, ...rest } = loadConfig(monitorConfig, env);
  return { ...rest, ...(alertWebhookUrl === undefined ? {} : { alertWebhookUrl }) };
}

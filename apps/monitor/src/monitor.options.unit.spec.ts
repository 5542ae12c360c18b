import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@hotswap/infrastructure';
import { monitorOptionsFromEnv } from './monitor.config.js';
import { defaultMonitorOptions, resolveMonitorOptions } from './monitor.options.js';

describe('monitor options', () => {
  it('default to p99 +20%, 5% errors, -10% accuracy, 200 samples, a 2 s detection round and no webhook', () => {
    expect(resolveMonitorOptions({})).toEqual(defaultMonitorOptions);
    expect(defaultMonitorOptions).toMatchObject({
      latencyPercentile: 'p99', maxLatencyIncrease: 0.2, maxErrorRate: 0.05, maxAccuracyDrop: 0.1, minSamples: 200,
      detectionIntervalMs: 2_000, windowsPerModel: 720,
    });
    expect(defaultMonitorOptions.alertWebhookUrl).toBeUndefined();
  });

  it.each([
    [{ minSamples: 0 }, 'MonitorOptions.minSamples must be a positive integer, got 0'],
    [{ detectionIntervalMs: -1 }, 'MonitorOptions.detectionIntervalMs must be a positive number, got -1'],
    [{ maxErrorRate: 1.5 }, 'MonitorOptions.maxErrorRate must be a share from 0 to below 1, got 1.5'],
    [{ latencyPercentile: 'p90' as 'p95' }, 'MonitorOptions.latencyPercentile must be p95 or p99, got p90'],
    [{ alertWebhookUrl: 'hooks/alerts' }, 'MonitorOptions.alertWebhookUrl must be an absolute URL, got hooks/alerts'],
  ])('refuses %j naming the option', (options, message) => {
    expect(() => resolveMonitorOptions(options)).toThrow(message);
  });

  it('reads the environment, durations in ISO 8601', () => {
    expect(monitorOptionsFromEnv({
      HOTSWAP_ALERT_WEBHOOK_URL: 'http://alerts.example/hotswap', HOTSWAP_MONITOR_DETECTION_INTERVAL: 'PT0.5S',
      HOTSWAP_DEGRADATION_MAX_ERROR_RATE: '0.02', HOTSWAP_DEGRADATION_LATENCY_PERCENTILE: 'p95', HOTSWAP_DEGRADATION_MAX_LATENCY_INCREASE: '0.5',
    })).toMatchObject({
      alertWebhookUrl: 'http://alerts.example/hotswap', detectionIntervalMs: 500, maxErrorRate: 0.02, latencyPercentile: 'p95',
      maxLatencyIncrease: 0.5, minSamples: 200, alertRetryBaseMs: 1_000,
    });
    expect(monitorOptionsFromEnv({})).not.toHaveProperty('alertWebhookUrl');
  });

  it('refuses bad variables, one line each', () => {
    let error: unknown;
    try {
      monitorOptionsFromEnv({ HOTSWAP_DEGRADATION_MAX_ERROR_RATE: '5%', HOTSWAP_DEGRADATION_MAX_LATENCY_INCREASE: '0', HOTSWAP_ALERT_WEBHOOK_URL: 'nope' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.env)).toEqual([
      'HOTSWAP_DEGRADATION_MAX_LATENCY_INCREASE', 'HOTSWAP_DEGRADATION_MAX_ERROR_RATE', 'HOTSWAP_ALERT_WEBHOOK_URL',
    ]);
    expect((error as Error).message).toContain('HOTSWAP_DEGRADATION_MAX_ERROR_RATE: must be a number from 0 to below 1, e.g. 0.05 for 5% (got "5%")');
  });
});

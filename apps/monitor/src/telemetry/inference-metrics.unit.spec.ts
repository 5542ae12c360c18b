import { describe, expect, it } from '@jest/globals';
import { LATENCY_HISTOGRAM_BOUNDS_MS, type TelemetryWindow } from '@hotswap/contracts';
import { startMetrics } from '@hotswap/infrastructure';
import { recordInferenceLatency } from './inference-metrics.js';

const window = (counts: number[]): TelemetryWindow => ({
  deviceId: 'dev-1', modelId: 'adder-1.0.0', windowStart: '2026-01-01T00:00:00.000Z', windowEnd: '2026-01-01T00:00:10.000Z',
  count: counts.reduce((a, b) => a + b, 0), errors: 0, latencyMs: { p50: 1, p95: 2, p99: 2 },
  histogram: { boundsMs: [...LATENCY_HISTOGRAM_BOUNDS_MS], counts },
});

describe('inference latency from telemetry windows', () => {
  it('records each window bucket as that many inferences at its upper bound, per model', async () => {
    const metrics = startMetrics({ serviceName: 'monitor', processMetrics: false });
    try {
      const counts = new Array<number>(LATENCY_HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
      counts[1] = 3; // (0.5, 1] ms
      counts[LATENCY_HISTOGRAM_BOUNDS_MS.length] = 1; // above 5000 ms
      recordInferenceLatency(metrics, window(counts));
      recordInferenceLatency(metrics, { ...window(counts), histogram: undefined });

      const text = await metrics.prometheusText();
      expect(text).toMatch(/^inference_latency_count\{model_id="adder-1.0.0"\} 4$/m);
      expect(text).toMatch(/^inference_latency_bucket\{model_id="adder-1.0.0",le="1"\} 3$/m);
      expect(text).toMatch(/^inference_latency_sum\{model_id="adder-1.0.0"\} 10003$/m);
    } finally {
      await metrics.shutdown();
    }
  });

  it('does nothing without a metrics handle', () => {
    expect(() => recordInferenceLatency(undefined, window([1]))).not.toThrow();
  });
});

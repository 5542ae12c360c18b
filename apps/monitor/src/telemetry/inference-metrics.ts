import type { TelemetryWindow } from '@hotswap/contracts';
import type { ServiceMetrics } from '@hotswap/infrastructure';

/** More inferences than this per bucket and window are recorded as this many (the hub's CPU is shared). */
const MAX_RECORDS_PER_BUCKET = 10_000;

/**
 * Feeds `inference.latency` from a device's telemetry window: each of its latency buckets
 * (`LATENCY_HISTOGRAM_BOUNDS_MS`) is recorded as that many inferences at the bucket's upper bound,
 * so bucket counts are exact wherever the two bucket lists share bounds and the sum is an upper
 * estimate. Devices do not serve `/metrics`; their windows already reach the monitor.
 */
export function recordInferenceLatency(metrics: ServiceMetrics | undefined, window: TelemetryWindow): void {
  if (metrics === undefined || window.histogram === undefined) return;
  const { boundsMs, counts } = window.histogram;
  const attributes = { model_id: window.modelId };
  counts.forEach((count, i) => {
    // Above the last bound: recorded at twice the last bound (beyond every inference.latency bucket).
    const value = boundsMs[i] ?? (boundsMs.at(-1) ?? 0) * 2;
    for (let n = Math.min(count, MAX_RECORDS_PER_BUCKET); n > 0; n--) metrics.histograms.inferenceLatency.record(value, attributes);
  });
}

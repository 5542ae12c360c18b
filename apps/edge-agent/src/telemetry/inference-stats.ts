/**
 * Aggregates inferences into telemetry windows, one per model that answered in the window (a swap
 * in the middle of a window must not blend the old model's latencies into the new one's).
 * Percentiles come from a bounded sample; the histogram and the counts see every inference.
 */
import { LATENCY_HISTOGRAM_BOUNDS_MS, type TelemetryWindow } from '@hotswap/contracts';

/** Latency samples kept per model and window; beyond this a uniform reservoir sample is kept. */
export const MAX_SAMPLES_PER_WINDOW = 4096;

interface ModelWindow {
  count: number;
  errors: number;
  labelled: number;
  correct: number;
  samples: number[];
  histogram: number[];
}

export class InferenceStats {
  private windows = new Map<string, ModelWindow>();
  private windowStart: Date;

  constructor(
    private readonly deviceId: string,
    now: Date,
    /** Random source in [0, 1) for reservoir sampling; injectable for tests. */
    private readonly random: () => number = Math.random,
  ) {
    this.windowStart = now;
  }

  /** One inference; `correct` is set when it came with a label (see label.ts). */
  record(modelId: string, latencyMs: number, ok: boolean, correct?: boolean): void {
    let w = this.windows.get(modelId);
    if (w === undefined) {
      w = { count: 0, errors: 0, labelled: 0, correct: 0, samples: [], histogram: new Array<number>(LATENCY_HISTOGRAM_BOUNDS_MS.length + 1).fill(0) };
      this.windows.set(modelId, w);
    }
    w.count++;
    if (!ok) w.errors++;
    if (correct !== undefined) {
      w.labelled++;
      if (correct) w.correct++;
    }
    w.histogram[bucketOf(latencyMs)]++;
    if (w.samples.length < MAX_SAMPLES_PER_WINDOW) {
      w.samples.push(latencyMs);
    } else {
      // Algorithm R: every sample of the window has the same chance to be kept.
      const slot = Math.floor(this.random() * w.count);
      if (slot < MAX_SAMPLES_PER_WINDOW) w.samples[slot] = latencyMs;
    }
  }

  /** Closes the current window at `now`: one TelemetryWindow per model that had inferences. */
  drain(now: Date): TelemetryWindow[] {
    const windowStart = this.windowStart.toISOString();
    const windowEnd = now.toISOString();
    const out: TelemetryWindow[] = [];
    for (const [modelId, w] of this.windows) {
      const sorted = [...w.samples].sort((a, b) => a - b);
      out.push({
        deviceId: this.deviceId,
        modelId,
        windowStart,
        windowEnd,
        count: w.count,
        errors: w.errors,
        latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) },
        histogram: { boundsMs: [...LATENCY_HISTOGRAM_BOUNDS_MS], counts: w.histogram },
        ...(w.labelled > 0 ? { accuracy: w.correct / w.labelled, labelled: w.labelled } : {}),
      });
    }
    this.windows = new Map();
    this.windowStart = now;
    return out;
  }
}

/** The histogram bucket of a latency: the first bound it does not exceed, or the overflow bucket. */
export function bucketOf(latencyMs: number): number {
  const i = LATENCY_HISTOGRAM_BOUNDS_MS.findIndex((bound) => latencyMs <= bound);
  return i === -1 ? LATENCY_HISTOGRAM_BOUNDS_MS.length : i;
}

/** Nearest-rank percentile of ascending samples, rounded to 0.001 ms; 0 when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return Math.round(sorted[Math.min(rank, sorted.length) - 1] * 1000) / 1000;
}

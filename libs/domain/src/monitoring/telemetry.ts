/**
 * Telemetry windows merged into group figures: counts, errors and histograms add up; accuracy is
 * weighted by the labelled inferences; percentiles come from the merged histogram.
 */

export const PERCENTILES = ['p50', 'p95', 'p99'] as const;
export type Percentile = (typeof PERCENTILES)[number];
const QUANTILE: Readonly<Record<Percentile, number>> = { p50: 0.5, p95: 0.95, p99: 0.99 };

export interface LatencyHistogramFigures {
  /** Inclusive upper bounds, increasing; `counts` has one more entry (above the last bound). */
  readonly boundsMs: readonly number[];
  readonly counts: readonly number[];
}

/** The figures of one telemetry window (as a device reports them). */
export interface WindowFigures {
  readonly count: number;
  readonly errors: number;
  readonly latencyMs: Readonly<Record<Percentile, number>>;
  readonly histogram?: LatencyHistogramFigures;
  /** Share of the labelled inferences that matched their label. */
  readonly accuracy?: number;
  readonly labelled?: number;
}

/** Several windows as one. */
export interface MergedTelemetry {
  readonly windows: number;
  readonly samples: number;
  readonly errors: number;
  /** The summed histogram; null when a window with samples had none, or other bounds. */
  readonly histogram: LatencyHistogramFigures | null;
  readonly labelled: number;
  /** Labelled inferences that matched their label. */
  readonly correct: number;
  /** Per percentile: the smallest and largest window value, and the sample-weighted mean. */
  readonly windowPercentiles: Readonly<Record<Percentile, { readonly min: number; readonly max: number; readonly mean: number }>> | null;
}

export const EMPTY_TELEMETRY: MergedTelemetry = { windows: 0, samples: 0, errors: 0, histogram: null, labelled: 0, correct: 0, windowPercentiles: null };

export function mergeWindows(windows: readonly WindowFigures[]): MergedTelemetry {
  let samples = 0;
  let errors = 0;
  let labelled = 0;
  let correct = 0;
  let bounds: readonly number[] | undefined;
  let counts: number[] | null = null;
  let histogramsAgree = true;
  const ranges = { p50: { min: Infinity, max: -Infinity, sum: 0 }, p95: { min: Infinity, max: -Infinity, sum: 0 }, p99: { min: Infinity, max: -Infinity, sum: 0 } };
  for (const w of windows) {
    samples += w.count;
    errors += w.errors;
    if (w.labelled !== undefined && w.labelled > 0 && w.accuracy !== undefined) {
      labelled += w.labelled;
      // accuracy = correct / labelled on the device, so the product is a whole number up to rounding.
      correct += Math.round(w.accuracy * w.labelled);
    }
    if (w.count === 0) continue;
    for (const p of PERCENTILES) {
      const value = w.latencyMs[p];
      ranges[p].min = Math.min(ranges[p].min, value);
      ranges[p].max = Math.max(ranges[p].max, value);
      ranges[p].sum += value * w.count;
    }
    if (!histogramsAgree) continue;
    const h = w.histogram;
    if (h === undefined || h.counts.length !== h.boundsMs.length + 1 || (bounds !== undefined && !sameBounds(bounds, h.boundsMs))) {
      histogramsAgree = false;
      counts = null;
      continue;
    }
    bounds ??= h.boundsMs;
    counts ??= new Array<number>(h.counts.length).fill(0);
    for (const [i, c] of h.counts.entries()) counts[i]! += c;
  }
  const windowPercentiles = samples === 0 || ranges.p50.min === Infinity ? null : {
    p50: { min: ranges.p50.min, max: ranges.p50.max, mean: ranges.p50.sum / samples },
    p95: { min: ranges.p95.min, max: ranges.p95.max, mean: ranges.p95.sum / samples },
    p99: { min: ranges.p99.min, max: ranges.p99.max, mean: ranges.p99.sum / samples },
  };
  return {
    windows: windows.length, samples, errors, labelled, correct, windowPercentiles,
    histogram: counts && bounds ? { boundsMs: [...bounds], counts } : null,
  };
}

/** Errors per inference; null without inferences. */
export function errorRateOf(m: MergedTelemetry): number | null {
  return m.samples === 0 ? null : m.errors / m.samples;
}

/** Correct per labelled inference; null without labels. */
export function accuracyOf(m: MergedTelemetry): number | null {
  return m.labelled === 0 ? null : m.correct / m.labelled;
}

/**
 * The q-quantile (0 < q <= 1) of a histogram, interpolated linearly inside its bucket (as
 * Prometheus' `histogram_quantile`); the first bucket starts at 0, and a rank in the overflow
 * bucket gives the last bound. Null for an empty histogram.
 */
export function histogramQuantile(h: LatencyHistogramFigures, q: number): number | null {
  const total = h.counts.reduce((s, c) => s + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (const [i, count] of h.counts.entries()) {
    if (count > 0 && below + count >= rank) {
      if (i >= h.boundsMs.length) return h.boundsMs.at(-1) ?? 0;
      const lower = i === 0 ? 0 : h.boundsMs[i - 1]!;
      const upper = h.boundsMs[i]!;
      return lower + ((upper - lower) * (rank - below)) / count;
    }
    below += count;
  }
  return h.boundsMs.at(-1) ?? 0;
}

/**
 * A latency percentile of merged windows, in ms (0.001 ms resolution); null without samples.
 * The histogram estimate is clamped to the range of the windows' own (exact) percentiles, since a
 * quantile of a mixture lies between its components' quantiles: coarse buckets cannot push it
 * outside what the devices measured. Without histograms: the sample-weighted mean of the windows'.
 */
export function latencyPercentile(m: MergedTelemetry, p: Percentile): number | null {
  if (m.samples === 0 || m.windowPercentiles === null) return null;
  const { min, max, mean } = m.windowPercentiles[p];
  const estimate = m.histogram ? histogramQuantile(m.histogram, QUANTILE[p]) : null;
  const value = estimate === null ? mean : Math.min(max, Math.max(min, estimate));
  return Math.round(value * 1000) / 1000;
}

export function latencyPercentiles(m: MergedTelemetry): Readonly<Record<Percentile, number>> | null {
  const p50 = latencyPercentile(m, 'p50');
  const p95 = latencyPercentile(m, 'p95');
  const p99 = latencyPercentile(m, 'p99');
  return p50 === null || p95 === null || p99 === null ? null : { p50, p95, p99 };
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

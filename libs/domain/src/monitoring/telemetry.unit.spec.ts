import { describe, expect, it } from '@jest/globals';
import {
  accuracyOf, EMPTY_TELEMETRY, errorRateOf, histogramQuantile, latencyPercentile, latencyPercentiles, mergeWindows, type WindowFigures,
} from './telemetry.js';

const BOUNDS = [1, 2, 5, 10];
const win = (counts: number[], extra: Partial<WindowFigures> = {}): WindowFigures => ({
  count: counts.reduce((s, c) => s + c, 0), errors: 0, latencyMs: { p50: 0, p95: 100, p99: 100 },
  histogram: { boundsMs: BOUNDS, counts }, ...extra,
});

describe('merging telemetry windows', () => {
  it('adds counts, errors and histograms, and weights accuracy by the labelled inferences', () => {
    const merged = mergeWindows([
      win([10, 20, 0, 0, 0], { errors: 3, accuracy: 0.9, labelled: 10 }),
      win([0, 10, 50, 10, 0], { errors: 1, accuracy: 0.5, labelled: 30 }),
      win([0, 0, 0, 0, 0]),
    ]);
    expect(merged).toMatchObject({ windows: 3, samples: 100, errors: 4, labelled: 40, correct: 24 });
    expect(merged.histogram).toEqual({ boundsMs: BOUNDS, counts: [10, 30, 50, 10, 0] });
    expect(errorRateOf(merged)).toBe(0.04);
    // (0.9·10 + 0.5·30) / 40, not the mean of 0.9 and 0.5.
    expect(accuracyOf(merged)).toBe(0.6);
  });

  it('has no rates, accuracy or percentiles without inferences or labels', () => {
    expect(errorRateOf(EMPTY_TELEMETRY)).toBeNull();
    expect(accuracyOf(mergeWindows([win([5, 0, 0, 0, 0])]))).toBeNull();
    expect(latencyPercentiles(EMPTY_TELEMETRY)).toBeNull();
  });

  it('drops the histogram when a window has none or other buckets, and falls back to the weighted mean of the windows', () => {
    const a = win([10, 0, 0, 0, 0], { latencyMs: { p50: 1, p95: 2, p99: 3 } });
    const b: WindowFigures = { count: 30, errors: 0, latencyMs: { p50: 5, p95: 6, p99: 7 } };
    expect(mergeWindows([a, b]).histogram).toBeNull();
    expect(mergeWindows([a, { ...b, histogram: { boundsMs: [1, 2], counts: [0, 30, 0] } }]).histogram).toBeNull();
    expect(latencyPercentile(mergeWindows([a, b]), 'p99')).toBe(6);
  });
});

describe('percentiles of a merged histogram', () => {
  const h = { boundsMs: BOUNDS, counts: [10, 30, 50, 10, 0] };

  it('interpolates inside the bucket holding the rank', () => {
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(2 + 3 * (10 / 50), 12);
    expect(histogramQuantile(h, 0.1)).toBeCloseTo(1, 12);
    expect(histogramQuantile(h, 0.05)).toBeCloseTo(0.5, 12);
    expect(histogramQuantile(h, 0.99)).toBeCloseTo(5 + 5 * (9 / 10), 12);
  });

  it('gives the last bound for a rank in the overflow bucket, and null for no samples', () => {
    expect(histogramQuantile({ boundsMs: BOUNDS, counts: [0, 0, 0, 1, 9] }, 0.99)).toBe(10);
    expect(histogramQuantile({ boundsMs: BOUNDS, counts: [0, 0, 0, 0, 0] }, 0.5)).toBeNull();
  });

  it('clamps the estimate to the range the windows measured themselves', () => {
    // Every inference at ~6 ms: the bucket (5, 10] alone would say p99 = 9.95 ms.
    const merged = mergeWindows([
      win([0, 0, 0, 100, 0], { latencyMs: { p50: 6, p95: 6.1, p99: 6.2 } }),
      win([0, 0, 0, 100, 0], { latencyMs: { p50: 6, p95: 6.2, p99: 6.4 } }),
    ]);
    expect(latencyPercentiles(merged)).toEqual({ p50: 6, p95: 6.2, p99: 6.4 });
  });
});

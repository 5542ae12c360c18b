import { describe, it, expect } from '@jest/globals';
import { LATENCY_HISTOGRAM_BOUNDS_MS } from '@hotswap/contracts';
import { bucketOf, InferenceStats, MAX_SAMPLES_PER_WINDOW, percentile } from './inference-stats.js';

const t0 = new Date('2030-01-01T00:00:00.000Z');
const t1 = new Date('2030-01-01T00:00:10.000Z');
const t2 = new Date('2030-01-01T00:00:20.000Z');

describe('inference telemetry windows', () => {
  it('percentiles use the nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 95)).toBe(95);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });

  it('summarises count, errors and latency per model in the window', () => {
    const stats = new InferenceStats('dev-1', t0);
    for (let i = 1; i <= 20; i++) stats.record('m-1.0.0', i, i !== 3);
    stats.record('m-2.0.0', 5, true);
    const histogram = (counts: Record<number, number>) => ({
      boundsMs: [...LATENCY_HISTOGRAM_BOUNDS_MS],
      counts: LATENCY_HISTOGRAM_BOUNDS_MS.map((_, i) => counts[i] ?? 0).concat(0),
    });
    expect(stats.drain(t1)).toEqual([
      {
        deviceId: 'dev-1', modelId: 'm-1.0.0', windowStart: t0.toISOString(), windowEnd: t1.toISOString(), count: 20, errors: 1,
        latencyMs: { p50: 10, p95: 19, p99: 20 },
        // 1 | 2 | 3,4,5 | 6..10 | 11..20
        histogram: histogram({ 1: 1, 2: 1, 3: 3, 4: 5, 5: 10 }),
      },
      {
        deviceId: 'dev-1', modelId: 'm-2.0.0', windowStart: t0.toISOString(), windowEnd: t1.toISOString(), count: 1, errors: 0,
        latencyMs: { p50: 5, p95: 5, p99: 5 }, histogram: histogram({ 3: 1 }),
      },
    ]);
  });

  it('starts a fresh window after a drain, and an idle window yields nothing', () => {
    const stats = new InferenceStats('dev-1', t0);
    stats.record('m', 1, true);
    stats.drain(t1);
    expect(stats.drain(t2)).toEqual([]);
    stats.record('m', 2, true);
    expect(stats.drain(t2)[0]).toMatchObject({ windowStart: t2.toISOString(), count: 1 });
  });

  it('keeps a bounded sample while counting every inference', () => {
    const stats = new InferenceStats('dev-1', t0, () => 0);
    for (let i = 0; i < MAX_SAMPLES_PER_WINDOW + 100; i++) stats.record('m', 1, true);
    const [w] = stats.drain(t1);
    expect(w.count).toBe(MAX_SAMPLES_PER_WINDOW + 100);
    expect(w.latencyMs).toEqual({ p50: 1, p95: 1, p99: 1 });
  });
});

describe('latency histogram and accuracy', () => {
  it('puts a latency in the first bucket whose bound it does not exceed, above the last in the overflow bucket', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.5)).toBe(0);
    expect(bucketOf(0.51)).toBe(1);
    expect(bucketOf(5000)).toBe(LATENCY_HISTOGRAM_BOUNDS_MS.length - 1);
    expect(bucketOf(5001)).toBe(LATENCY_HISTOGRAM_BOUNDS_MS.length);
  });

  it('reports accuracy over the labelled inferences only, and none when no label came', () => {
    const stats = new InferenceStats('dev-1', t0);
    stats.record('m', 1, true, true);
    stats.record('m', 1, true, false);
    stats.record('m', 1, true, true);
    stats.record('m', 1, true);
    stats.record('m', 1, false);
    stats.record('n', 1, true);
    const [m, n] = stats.drain(t1);
    expect(m).toMatchObject({ count: 5, errors: 1, labelled: 3, accuracy: 2 / 3 });
    expect(n).not.toHaveProperty('accuracy');
    expect(n).not.toHaveProperty('labelled');
    expect(m.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(5);
  });
});

import { describe, expect, it } from '@jest/globals';
import { decideAbTest } from './ab-test.js';
import { DEFAULT_DEGRADATION_RULES, describeBaseline, detectDegradation, type Comparison } from './degradation.js';
import { EMPTY_TELEMETRY, mergeWindows, type WindowFigures } from './telemetry.js';

const BOUNDS = [10, 20, 50];
/** `count` inferences all near `p99Ms` (the histogram puts them in its bucket). */
const figures = (count: number, p99Ms: number, extra: Partial<WindowFigures> = {}) => {
  const bucket = BOUNDS.findIndex((b) => p99Ms <= b);
  const counts = [0, 0, 0, 0];
  counts[bucket === -1 ? 3 : bucket] = count;
  return mergeWindows([{ count, errors: 0, latencyMs: { p50: p99Ms * 0.8, p95: p99Ms * 0.95, p99: p99Ms }, histogram: { boundsMs: BOUNDS, counts }, ...extra }]);
};
const canary = (observed = figures(640, 31.2), baseline = figures(900, 20)): Comparison => ({
  group: 'canary', modelId: 'adder-2.0.0', observed, baseline, baselineSource: { kind: 'control' },
});

describe('degradation rules', () => {
  it('default to p99 +20%, 5% errors, -10% accuracy, 200 samples', () => {
    expect(DEFAULT_DEGRADATION_RULES).toEqual({ latencyPercentile: 'p99', maxLatencyIncrease: 0.2, maxErrorRate: 0.05, maxAccuracyDrop: 0.1, minSamples: 200, significanceLevel: 0.01 });
  });

  describe('given a canary whose p99 latency rose 56% over the control group', () => {
    it('triggers on latency with the figures and one sentence', () => {
      expect(detectDegradation(canary())).toEqual({
        trigger: 'latency', group: 'canary', modelId: 'adder-2.0.0', baseline: 20, observed: 31.2, threshold: 24, samples: 640,
        detail: "p99 latency 31.2 ms on canary is 56% above the control group's 20.0 ms (threshold +20%, 640 samples, p<0.001)",
      });
    });

    it('waits while the canary or the control group has fewer than minSamples inferences', () => {
      expect(detectDegradation(canary(figures(199, 31.2)))).toBeUndefined();
      expect(detectDegradation(canary(figures(640, 31.2), figures(199, 20)))).toBeUndefined();
    });

    it('compares p95 instead when told to', () => {
      const rules = { ...DEFAULT_DEGRADATION_RULES, latencyPercentile: 'p95' as const };
      expect(detectDegradation(canary(), rules)?.detail).toMatch(/^p95 latency 29\.6 ms on canary is 56% above the control group's 19\.0 ms/);
    });
  });

  it('does not trigger on a p99 rise that a few slow inferences make, when the latencies are not significantly higher', () => {
    // The same latencies but for chance: 4 of 300 canary inferences and 7 of 900 control ones are slow.
    const noisy = mergeWindows([{ count: 300, errors: 0, latencyMs: { p50: 5, p95: 9, p99: 60 }, histogram: { boundsMs: BOUNDS, counts: [296, 0, 0, 4] } }]);
    const steady = mergeWindows([{ count: 900, errors: 0, latencyMs: { p50: 5, p95: 9, p99: 10 }, histogram: { boundsMs: BOUNDS, counts: [893, 0, 0, 7] } }]);
    expect(detectDegradation(canary(noisy, steady))).toBeUndefined();
    expect(detectDegradation(canary(noisy, steady), { ...DEFAULT_DEGRADATION_RULES, significanceLevel: 0.5 })).toMatchObject({ trigger: 'latency' });
  });

  it('does not trigger at a rise of exactly the threshold', () => {
    expect(detectDegradation(canary(figures(640, 24)))).toBeUndefined();
  });

  it('triggers on an error rate above 5% without waiting for a baseline, naming it when there is one', () => {
    const failing = figures(400, 20, { errors: 40 });
    expect(detectDegradation(canary(failing, EMPTY_TELEMETRY))).toEqual({
      trigger: 'errorRate', group: 'canary', modelId: 'adder-2.0.0', observed: 0.1, threshold: 0.05, samples: 400,
      detail: 'error rate 10.0% on canary is above the 5.0% limit (400 samples)',
    });
    expect(detectDegradation(canary(failing, figures(300, 20, { errors: 3 })))).toMatchObject({
      baseline: 0.01, detail: "error rate 10.0% on canary is above the 5.0% limit (400 samples; the control group's 1.0%)",
    });
    expect(detectDegradation(canary(figures(400, 20, { errors: 20 })))).toBeUndefined();
  });

  it('triggers on accuracy more than 10% down only once both sides have enough labelled inferences', () => {
    const group = { kind: 'group', group: 'A' } as const;
    const worse: Comparison = {
      group: 'B', modelId: 'm-b', baselineSource: group,
      observed: figures(1000, 20, { accuracy: 0.71, labelled: 400 }), baseline: figures(1000, 20, { accuracy: 0.87, labelled: 300 }),
    };
    expect(detectDegradation(worse)).toMatchObject({
      trigger: 'accuracy', observed: 0.71, baseline: 0.87, samples: 400,
      detail: "accuracy 71.0% on B is 18% below group A's 87.0% (threshold -10%, 400 labelled samples, p<0.001)",
    });
    expect(detectDegradation({ ...worse, baseline: figures(1000, 20, { accuracy: 0.87, labelled: 150 }) })).toBeUndefined();
    expect(detectDegradation({ ...worse, observed: figures(1000, 20, { accuracy: 0.8, labelled: 400 }) })).toBeUndefined();
  });

  it('names a baseline from before the swap by its model', () => {
    expect(describeBaseline({ kind: 'before-swap', modelIds: ['adder-1.0.0'] }, '20.0 ms')).toBe('20.0 ms on adder-1.0.0 before the swap');
    expect(describeBaseline({ kind: 'before-swap', modelIds: [] }, '1.0%')).toBe('1.0% on the previous model before the swap');
  });
});

describe('A/B decision', () => {
  const criteria = { metric: 'errorRate', minSamples: 1000, significanceLevel: 0.05 } as const;
  const errors = (count: number, failed: number) => figures(count, 20, { errors: failed });

  it('names the group with fewer errors with its p-value once both have enough samples', () => {
    expect(decideAbTest(criteria, errors(1000, 150), errors(1000, 120))).toEqual({
      metric: 'errorRate', winner: 'B', pValue: expect.closeTo(0.04964, 4), samplesA: 1000, samplesB: 1000, valueA: 0.15, valueB: 0.12,
      detail: 'B wins on error rate: 15.0% (A) vs 12.0% (B), p = 0.0496 < 0.05, 1000 vs 1000 samples',
    });
  });

  it('declares no winner before minSamples per group, or without a significant difference', () => {
    expect(decideAbTest(criteria, errors(999, 150), errors(5000, 120))).toMatchObject({
      winner: null, pValue: null, detail: 'too few samples: A 999, B 5000, each group needs 1000',
    });
    expect(decideAbTest({ ...criteria, significanceLevel: 0.01 }, errors(1000, 150), errors(1000, 120))).toMatchObject({
      winner: null, detail: 'no significant difference in error rate: 15.0% (A) vs 12.0% (B), p = 0.0496 >= 0.01',
    });
  });

  it('picks the more accurate group on labelled inferences', () => {
    const result = decideAbTest({ ...criteria, metric: 'accuracy' },
      figures(2000, 20, { accuracy: 0.9, labelled: 1000 }), figures(2000, 20, { accuracy: 0.85, labelled: 1000 }));
    expect(result).toMatchObject({ winner: 'A', valueA: 0.9, valueB: 0.85 });
    expect(result.pValue).toBeCloseTo(0.0007232327164301844, 8);
    expect(decideAbTest({ ...criteria, metric: 'accuracy' }, figures(2000, 20), figures(2000, 20)).detail)
      .toBe('accuracy cannot be compared: a group has no labelled inferences');
  });

  it('picks the faster group by Mann-Whitney U on the latency histograms, showing median latencies', () => {
    const fast = mergeWindows([{ count: 1500, errors: 0, latencyMs: { p50: 8, p95: 15, p99: 18 }, histogram: { boundsMs: BOUNDS, counts: [1000, 500, 0, 0] } }]);
    const slow = mergeWindows([{ count: 1500, errors: 0, latencyMs: { p50: 15, p95: 30, p99: 45 }, histogram: { boundsMs: BOUNDS, counts: [500, 700, 300, 0] } }]);
    const result = decideAbTest({ ...criteria, metric: 'latency' }, slow, fast);
    expect(result).toMatchObject({ winner: 'B', samplesA: 1500, samplesB: 1500 });
    expect(result.pValue).toBeLessThan(1e-6);
    expect(result.valueB).toBeLessThan(result.valueA!);
    expect(decideAbTest({ ...criteria, metric: 'latency' }, slow, { ...fast, histogram: null }).detail)
      .toBe('latency cannot be compared: a group lacks latency histograms over the same buckets');
  });
});

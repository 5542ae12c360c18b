import type { AbMetric, AbTestResultView } from '@hotswap/contracts';
import { mannWhitneyU, twoProportionZTest, type TestResult } from './statistics.js';
import { accuracyOf, errorRateOf, latencyPercentile, type MergedTelemetry } from './telemetry.js';

export interface AbTestCriteria {
  readonly metric: AbMetric;
  /** Inferences each group must have served before a winner may be declared. */
  readonly minSamples: number;
  /** A difference counts when its p-value is below this. */
  readonly significanceLevel: number;
}

/**
 * Compares group A with group B on the criteria's metric: the two-proportion z-test for accuracy
 * (correct of labelled) and error rate (errors of inferences), Mann-Whitney U on the latency
 * histograms. A winner is named only once both groups have `minSamples` inferences and p is below
 * the significance level; the view shows the figures either way, and why there is no winner.
 */
export function decideAbTest(criteria: AbTestCriteria, a: MergedTelemetry, b: MergedTelemetry): AbTestResultView {
  const { metric, minSamples, significanceLevel } = criteria;
  const valueA = valueOf(metric, a);
  const valueB = valueOf(metric, b);
  const base = { metric, samplesA: a.samples, samplesB: b.samples, valueA, valueB };
  const inconclusive = (pValue: number | null, detail: string): AbTestResultView => ({ ...base, winner: null, pValue, detail });
  if (a.samples < minSamples || b.samples < minSamples) {
    return inconclusive(null, `too few samples: A ${a.samples}, B ${b.samples}, each group needs ${minSamples}`);
  }
  const test = testOf(metric, a, b);
  if (test === undefined || valueA === null || valueB === null) {
    return inconclusive(null, metric === 'latency'
      ? 'latency cannot be compared: a group lacks latency histograms over the same buckets'
      : 'accuracy cannot be compared: a group has no labelled inferences');
  }
  const shown = `${show(metric, valueA)} (A) vs ${show(metric, valueB)} (B), p = ${formatP(test.pValue)}`;
  if (!(test.pValue < significanceLevel)) {
    return inconclusive(test.pValue, `no significant difference in ${NAMES[metric]}: ${shown} >= ${significanceLevel}`);
  }
  // z > 0: A's rate (or latency) is the higher one. Higher accuracy wins; lower errors and latency win.
  const aHigher = test.z > 0;
  const winner = (metric === 'accuracy') === aHigher ? 'A' : 'B';
  return { ...base, winner, pValue: test.pValue, detail: `${winner} wins on ${NAMES[metric]}: ${shown} < ${significanceLevel}, ${a.samples} vs ${b.samples} samples` };
}

const NAMES: Readonly<Record<AbMetric, string>> = { accuracy: 'accuracy', errorRate: 'error rate', latency: 'latency' };

/** The figure the view shows per group: accuracy or error rate (0..1), or median latency in ms. */
function valueOf(metric: AbMetric, m: MergedTelemetry): number | null {
  switch (metric) {
    case 'accuracy':
      return accuracyOf(m);
    case 'errorRate':
      return errorRateOf(m);
    case 'latency':
      return latencyPercentile(m, 'p50');
    default: {
      const unknown: never = metric;
      return unknown;
    }
  }
}

function testOf(metric: AbMetric, a: MergedTelemetry, b: MergedTelemetry): TestResult | undefined {
  if (metric === 'accuracy') {
    if (a.labelled === 0 || b.labelled === 0) return undefined;
    return twoProportionZTest({ successes: a.correct, trials: a.labelled }, { successes: b.correct, trials: b.labelled });
  }
  if (metric === 'errorRate') return twoProportionZTest({ successes: a.errors, trials: a.samples }, { successes: b.errors, trials: b.samples });
  const ha = a.histogram;
  const hb = b.histogram;
  if (!ha || !hb || ha.boundsMs.length !== hb.boundsMs.length || ha.boundsMs.some((v, i) => v !== hb.boundsMs[i])) return undefined;
  return mannWhitneyU(ha.counts, hb.counts);
}

function show(metric: AbMetric, value: number): string {
  return metric === 'latency' ? `${value.toFixed(2)} ms` : `${(value * 100).toFixed(1)}%`;
}

function formatP(p: number): string {
  return p >= 0.001 ? p.toFixed(4) : p.toExponential(2);
}

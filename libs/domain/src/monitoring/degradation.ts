import type { DegradationTrigger } from '@hotswap/contracts';
import { mannWhitneyU, twoProportionZTest } from './statistics.js';
import { accuracyOf, errorRateOf, latencyPercentile, type MergedTelemetry } from './telemetry.js';

/**
 * When a new model counts as degraded. Latency and accuracy are relative to the baseline, the
 * error rate is absolute. A rule is only evaluated once enough inferences back it.
 */
export interface DegradationRules {
  /** The latency percentile compared: p99 (default, as the quality gate and success criteria) or p95 (less noisy). */
  readonly latencyPercentile: 'p95' | 'p99';
  /** Relative rise over the baseline that triggers: 0.2 = more than 20% slower. */
  readonly maxLatencyIncrease: number;
  /** Absolute error rate above which the new model triggers: 0.05 = more than 5% of inferences fail. */
  readonly maxErrorRate: number;
  /** Relative accuracy drop below the baseline that triggers: 0.1 = more than 10% less accurate. */
  readonly maxAccuracyDrop: number;
  /**
   * Inferences the new group (and, for the relative rules, the baseline) must have before a rule
   * is evaluated; for accuracy they must be labelled ones.
   */
  readonly minSamples: number;
  /**
   * The relative rules also need the difference to be significant at this level (one-sided:
   * Mann-Whitney U on the latency histograms, the two-proportion z-test on accuracy), so that a
   * noisy tail on a busy device does not roll a good model back. Default 0.01.
   */
  readonly significanceLevel: number;
}

export const DEFAULT_DEGRADATION_RULES: DegradationRules = {
  latencyPercentile: 'p99', maxLatencyIncrease: 0.2, maxErrorRate: 0.05, maxAccuracyDrop: 0.1, minSamples: 200, significanceLevel: 0.01,
};

/** One-sided p-value that the new model's latencies are higher, or undefined without comparable histograms. */
function slowerPValue(c: Comparison): number | undefined {
  const [o, b] = [c.observed.histogram, c.baseline.histogram];
  if (!o || !b || o.boundsMs.length !== b.boundsMs.length || o.boundsMs.some((v, i) => v !== b.boundsMs[i])) return undefined;
  const test = mannWhitneyU(o.counts, b.counts);
  return test.z > 0 ? test.pValue / 2 : 1 - test.pValue / 2;
}

const formatP = (p: number) => (p >= 0.001 ? `=${p.toFixed(3)}` : '<0.001');

/** What the new model's figures are compared with. */
export type BaselineSource =
  | { readonly kind: 'control' }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'before-swap'; readonly modelIds: readonly string[] };

/** One group on its new model next to its baseline. */
export interface Comparison {
  readonly group: string;
  readonly modelId: string;
  readonly observed: MergedTelemetry;
  readonly baseline: MergedTelemetry;
  readonly baselineSource: BaselineSource;
  /** The models and devices behind the baseline figures. */
  readonly baselineModelIds?: readonly string[];
  readonly baselineDevices?: number;
}

/** A crossed rule, ready for `report-degradation`. */
export interface DegradationFinding {
  readonly trigger: Exclude<DegradationTrigger, 'health' | 'manual'>;
  readonly group: string;
  readonly modelId: string;
  /** Absent for the error rate when the baseline has too few inferences to show. */
  readonly baseline?: number;
  readonly observed: number;
  readonly threshold: number;
  readonly samples: number;
  readonly detail: string;
}

/**
 * The first rule the comparison breaks, in order of severity (error rate, latency, accuracy), or
 * undefined. The error rate needs no baseline (its limit is absolute), so it is checked as soon as
 * the new group alone has `minSamples` inferences.
 */
export function detectDegradation(c: Comparison, rules: DegradationRules = DEFAULT_DEGRADATION_RULES): DegradationFinding | undefined {
  return errorRateRule(c, rules) ?? latencyRule(c, rules) ?? accuracyRule(c, rules);
}

function errorRateRule(c: Comparison, rules: DegradationRules): DegradationFinding | undefined {
  const observed = errorRateOf(c.observed);
  if (c.observed.samples < rules.minSamples || observed === null || observed <= rules.maxErrorRate) return undefined;
  const baseline = c.baseline.samples >= rules.minSamples ? errorRateOf(c.baseline) : null;
  const compared = baseline === null ? '' : `; ${describeBaseline(c.baselineSource, percent(baseline, 1))}`;
  return {
    trigger: 'errorRate', group: c.group, modelId: c.modelId, ...(baseline === null ? {} : { baseline }), observed,
    threshold: rules.maxErrorRate, samples: c.observed.samples,
    detail: `error rate ${percent(observed, 1)} on ${c.group} is above the ${percent(rules.maxErrorRate, 1)} limit (${c.observed.samples} samples${compared})`,
  };
}

function latencyRule(c: Comparison, rules: DegradationRules): DegradationFinding | undefined {
  if (c.observed.samples < rules.minSamples || c.baseline.samples < rules.minSamples) return undefined;
  const p = rules.latencyPercentile;
  const observed = latencyPercentile(c.observed, p);
  const baseline = latencyPercentile(c.baseline, p);
  if (observed === null || baseline === null || baseline <= 0) return undefined;
  const threshold = baseline * (1 + rules.maxLatencyIncrease);
  if (observed <= threshold) return undefined;
  const pValue = slowerPValue(c);
  if (pValue !== undefined && pValue >= rules.significanceLevel) return undefined;
  const rise = Math.round((observed / baseline - 1) * 100);
  return {
    trigger: 'latency', group: c.group, modelId: c.modelId, baseline, observed, threshold, samples: c.observed.samples,
    detail: `${p} latency ${observed.toFixed(1)} ms on ${c.group} is ${rise}% above ${describeBaseline(c.baselineSource, `${baseline.toFixed(1)} ms`)}`
      + ` (threshold +${Math.round(rules.maxLatencyIncrease * 100)}%, ${c.observed.samples} samples${pValue === undefined ? '' : `, p${formatP(pValue)}`})`,
  };
}

function accuracyRule(c: Comparison, rules: DegradationRules): DegradationFinding | undefined {
  if (c.observed.labelled < rules.minSamples || c.baseline.labelled < rules.minSamples) return undefined;
  const observed = accuracyOf(c.observed);
  const baseline = accuracyOf(c.baseline);
  if (observed === null || baseline === null || baseline <= 0) return undefined;
  const threshold = baseline * (1 - rules.maxAccuracyDrop);
  if (observed >= threshold) return undefined;
  const test = twoProportionZTest({ successes: c.observed.correct, trials: c.observed.labelled }, { successes: c.baseline.correct, trials: c.baseline.labelled });
  const pValue = test.z < 0 ? test.pValue / 2 : 1 - test.pValue / 2;
  if (pValue >= rules.significanceLevel) return undefined;
  const drop = Math.round((1 - observed / baseline) * 100);
  return {
    trigger: 'accuracy', group: c.group, modelId: c.modelId, baseline, observed, threshold, samples: c.observed.labelled,
    detail: `accuracy ${percent(observed, 1)} on ${c.group} is ${drop}% below ${describeBaseline(c.baselineSource, percent(baseline, 1))}`
      + ` (threshold -${Math.round(rules.maxAccuracyDrop * 100)}%, ${c.observed.labelled} labelled samples, p${formatP(pValue)})`,
  };
}

/** `the control group's 20.0 ms`, `group A's 20.0 ms`, `20.0 ms on adder-1.0.0 before the swap`. */
export function describeBaseline(source: BaselineSource, value: string): string {
  switch (source.kind) {
    case 'control':
      return `the control group's ${value}`;
    case 'group':
      return `group ${source.group}'s ${value}`;
    case 'before-swap':
      return `${value} on ${source.modelIds.join(', ') || 'the previous model'} before the swap`;
    default: {
      const unknown: never = source;
      return unknown;
    }
  }
}

function percent(share: number, digits: number): string {
  return `${(share * 100).toFixed(digits)}%`;
}

/**
 * The statistical tests of the monitor: normal distribution, two-proportion z-test, and the
 * Mann-Whitney U test on histogram-binned samples. Pure numbers in, numbers out.
 */

/**
 * The complementary error function, with a relative error below 1.2e-7 everywhere (Numerical
 * Recipes, 2nd ed., §6.2, `erfcc`): relative, so tiny tail p-values stay accurate too.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

export function erf(x: number): number {
  return 1 - erfc(x);
}

/** P(Z <= z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** P(Z > z) for a standard normal Z (computed directly, so small tails keep their precision). */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** A two-sided test's outcome: the statistic and the p-value (1 when there is nothing to compare). */
export interface TestResult {
  readonly z: number;
  readonly pValue: number;
}

/** One side of a proportion comparison: `successes` out of `trials` (errors of inferences, correct of labelled). */
export interface Proportion {
  readonly successes: number;
  readonly trials: number;
}

/**
 * The two-proportion z-test with a pooled variance: is the rate of `a` different from that of
 * `b`? `z` is positive when `a`'s rate is the higher one. Two-sided p-value.
 */
export function twoProportionZTest(a: Proportion, b: Proportion): TestResult {
  if (a.trials <= 0 || b.trials <= 0) return { z: 0, pValue: 1 };
  const pa = a.successes / a.trials;
  const pb = b.successes / b.trials;
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  // Both rates 0 or both 1: no variance, no evidence of a difference.
  if (se === 0) return { z: 0, pValue: 1 };
  const z = (pa - pb) / se;
  return { z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))) };
}

export interface MannWhitneyResult extends TestResult {
  /** U of `a`: the pairs (x from a, y from b) with x > y, ties counting one half. */
  readonly u: number;
  /** U / (nA · nB): the probability that a value of `a` exceeds one of `b` (0.5 = no difference). */
  readonly probabilityAGreater: number;
}

/**
 * The Mann-Whitney U test on two histograms over the same buckets (`a[i]`, `b[i]` = samples in
 * bucket i, buckets in increasing order): values in one bucket are ties. Normal approximation with
 * the tie correction and a continuity correction, two-sided, as scipy's
 * `mannwhitneyu(method='asymptotic', use_continuity=True)`. `z` is positive when `a` tends higher.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  if (a.length !== b.length) throw new RangeError(`the histograms need the same buckets, got ${a.length} and ${b.length}`);
  const nA = sum(a);
  const nB = sum(b);
  if (nA === 0 || nB === 0) return { u: 0, z: 0, pValue: 1, probabilityAGreater: 0.5 };
  let u = 0;
  let bBelow = 0;
  let ties = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i] ?? 0;
    const bi = b[i] ?? 0;
    u += ai * (bBelow + bi / 2);
    bBelow += bi;
    const t = ai + bi;
    ties += t * t * t - t;
  }
  const n = nA + nB;
  const mean = (nA * nB) / 2;
  const variance = ((nA * nB) / 12) * (n + 1 - ties / (n * (n - 1)));
  const probabilityAGreater = u / (nA * nB);
  // Every sample in one bucket: nothing to tell the groups apart.
  if (variance <= 0) return { u, z: 0, pValue: 1, probabilityAGreater };
  const distance = Math.max(0, Math.abs(u - mean) - 0.5);
  const z = Math.sign(u - mean) * distance / Math.sqrt(variance);
  return { u, z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))), probabilityAGreater };
}

function sum(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

import { describe, expect, it } from '@jest/globals';
import { erf, erfc, mannWhitneyU, normalCdf, normalSf, twoProportionZTest } from './statistics.js';

// Reference values from Python's math.erf and scipy.stats 1.17 (norm, mannwhitneyu).
describe('normal distribution', () => {
  it.each([
    [0.5, 0.5204998778130465], [1, 0.8427007929497149], [-0.3, -0.3286267594591274], [2.5, 0.999593047982555], [0, 0],
  ])('erf(%p) matches the reference to 1e-7', (x, expected) => {
    expect(Math.abs(erf(x) - expected)).toBeLessThan(1e-7);
  });

  it('gives the textbook quantiles: Φ(1.96) = 0.975, Φ(-1) = 0.1587', () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 7);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 7);
    expect(normalSf(1.96)).toBeCloseTo(0.024997895148220435, 7);
  });

  it('keeps small tails accurate relative to their size', () => {
    expect(normalSf(3) / 0.0013498980316300933).toBeCloseTo(1, 6);
    expect(normalSf(6) / 9.865876450376946e-10).toBeCloseTo(1, 6);
    expect(erfc(-1)).toBeCloseTo(2 - erfc(1), 12);
  });
});

describe('two-proportion z-test', () => {
  it.each([
    [{ successes: 120, trials: 1000 }, { successes: 150, trials: 1000 }, -1.963049807622355, 0.04964038686536878],
    [{ successes: 45, trials: 100 }, { successes: 60, trials: 100 }, -2.1239769762143657, 0.033672068856345855],
    [{ successes: 900, trials: 1000 }, { successes: 850, trials: 1000 }, 3.3806170189140694, 0.0007232327164301844],
  ])('given %j and %j, z and the two-sided p-value match the pooled-variance reference', (a, b, z, p) => {
    const result = twoProportionZTest(a, b);
    expect(result.z).toBeCloseTo(z, 9);
    expect(result.pValue / p).toBeCloseTo(1, 5);
  });

  it('finds no difference when a side has no trials or the rates have no variance', () => {
    expect(twoProportionZTest({ successes: 0, trials: 0 }, { successes: 5, trials: 10 })).toEqual({ z: 0, pValue: 1 });
    expect(twoProportionZTest({ successes: 0, trials: 50 }, { successes: 0, trials: 80 })).toEqual({ z: 0, pValue: 1 });
  });
});

describe('Mann-Whitney U on histograms', () => {
  it('matches scipy with ties by bucket and the continuity correction', () => {
    // A = [1]*10 + [2]*20 + [3]*5, B = [2]*8 + [3]*15 + [4]*12 as buckets 1..4.
    const result = mannWhitneyU([10, 20, 5, 0], [0, 8, 15, 12]);
    expect(result.u).toBe(157.5);
    expect(result.pValue / 1.9988963543557522e-8).toBeCloseTo(1, 5);
    expect(result.z).toBeLessThan(0);
    expect(result.probabilityAGreater).toBeCloseTo(157.5 / (35 * 35), 12);
  });

  it('is symmetric: swapping the groups flips z and keeps p', () => {
    const ab = mannWhitneyU([3, 3, 4], [1, 3, 6]);
    const ba = mannWhitneyU([1, 3, 6], [3, 3, 4]);
    expect(ab.u).toBe(37);
    expect(ab.pValue).toBeCloseTo(0.3031541009100521, 6);
    expect(ba.pValue).toBeCloseTo(ab.pValue, 12);
    expect(ba.z).toBeCloseTo(-ab.z, 12);
  });

  it('sees no difference when a group is empty or every sample shares one bucket', () => {
    expect(mannWhitneyU([0, 0], [4, 1]).pValue).toBe(1);
    expect(mannWhitneyU([0, 7, 0], [0, 9, 0])).toMatchObject({ z: 0, pValue: 1, probabilityAGreater: 0.5 });
  });

  it('refuses histograms over different buckets', () => {
    expect(() => mannWhitneyU([1, 2], [1, 2, 3])).toThrow('the histograms need the same buckets, got 2 and 3');
  });
});

import { describe, it, expect } from '@jest/globals';
import { matchesLabel } from './label.js';

const f32 = (...values: number[]) => ({ type: 'float32' as const, dims: [1, values.length], data: Float32Array.from(values) });

describe('labels', () => {
  it('a number names the expected class (argmax) of a multi-element output', () => {
    expect(matchesLabel(f32(0.1, 0.7, 0.2), 1)).toBe(true);
    expect(matchesLabel(f32(0.1, 0.7, 0.2), 2)).toBe(false);
    // Ties go to the first index.
    expect(matchesLabel(f32(0.5, 0.5), 0)).toBe(true);
  });

  it('a number is the expected value of a one-element output, within a relative tolerance', () => {
    expect(matchesLabel(f32(2.00001), 2)).toBe(true);
    expect(matchesLabel(f32(1000.05), 1000)).toBe(true);
    expect(matchesLabel(f32(2.01), 2)).toBe(false);
  });

  it('an array is the expected values element by element', () => {
    expect(matchesLabel(f32(1, 2, 3), [1, 2, 3])).toBe(true);
    expect(matchesLabel(f32(1, 2, 3), [1, 2, 4])).toBe(false);
    expect(matchesLabel(f32(1, 2, 3), [1, 2])).toBe(false);
  });

  it('compares 64-bit integer outputs as numbers, and never matches strings', () => {
    expect(matchesLabel({ type: 'int64', dims: [2], data: BigInt64Array.from([3n, 9n]) }, 1)).toBe(true);
    expect(matchesLabel({ type: 'string', dims: [1], data: ['a'] }, 0)).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { DATASET_ELEMENT_TYPES } from '@hotswap/contracts';
import { NpyFormatError, parseNpy, samplesOf, writeNpy } from './npy.js';

describe('NPY files', () => {
  it.each(DATASET_ELEMENT_TYPES)('reads back a %s array it wrote, in C order', (type) => {
    const values = type === 'bool' ? [1, 0, 1, 1, 0, 0] : [1, 2, 3, 4, 5, 6];
    const parsed = parseNpy(writeNpy(type, [2, 3], values));
    expect({ type: parsed.type, shape: parsed.shape, values: Array.from(parsed.values) }).toEqual({ type, shape: [2, 3], values });
    expect(samplesOf(parsed)).toEqual({ dims: [3], rows: [values.slice(0, 3), values.slice(3)] });
  });

  it('reads format 2.0 headers, and one-dimensional arrays as one value per sample', () => {
    const v1 = writeNpy('float64', [2], [0.5, 1.5]);
    const header = v1.subarray(10);
    const v2 = Buffer.concat([v1.subarray(0, 6), Buffer.from([2, 0]), Buffer.alloc(4), header]);
    v2.writeUInt32LE(v1.readUInt16LE(8), 8);
    const parsed = parseNpy(v2);
    expect(parsed.shape).toEqual([2]);
    expect(samplesOf(parsed)).toEqual({ dims: [1], rows: [[0.5], [1.5]] });
  });

  it.each([
    ['bad magic', Buffer.from('NUMPY-ish file'), 'not an NPY file'],
    ['an unknown version', Buffer.concat([writeNpy('int8', [1], [1]).subarray(0, 6), Buffer.from([9, 0, 0, 0])]), 'NPY format version 9.0 is not supported'],
    ['a truncated header', writeNpy('int8', [1], [1]).subarray(0, 40), 'the NPY header is truncated'],
    ['a header without shape', patch(writeNpy('int8', [1], [1]), "'shape'", "'shapo'"), 'the NPY header must hold descr, fortran_order and shape'],
    ['a negative dimension', patch(writeNpy('int8', [1], [1]), '(1,)', '(-1,)'), 'is not a list of sizes'],
    ['an object dtype', patch(writeNpy('int8', [1], [1]), "'|i1'", "'|O1'"), 'NPY dtype |O1 is not supported'],
  ])('refuses %s', (_case, bytes, message) => {
    expect(() => parseNpy(bytes)).toThrow(NpyFormatError);
    expect(() => parseNpy(bytes)).toThrow(message);
  });
});

/** The same bytes with `from` replaced in the header by `to` of the same length. */
function patch(npy: Buffer, from: string, to: string): Buffer {
  return Buffer.from(npy.toString('latin1').replace(from, to.padEnd(from.length, ' ')), 'latin1');
}

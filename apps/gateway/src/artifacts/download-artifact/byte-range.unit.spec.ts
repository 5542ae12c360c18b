import { describe, expect, it } from '@jest/globals';
import { decideRange } from './byte-range.js';

describe('decideRange', () => {
  it('sends the whole artifact without a Range header', () => {
    expect(decideRange(undefined, 100)).toEqual({ kind: 'full' });
  });

  it.each([
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=10-', { start: 10, end: 99 }],
    ['bytes=90-1000', { start: 90, end: 99 }],
    ['bytes=-5', { start: 95, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
    ['BYTES = 3 - 4', { start: 3, end: 4 }],
  ])('sends part of the artifact for %s', (header, range) => {
    expect(decideRange(header, 100)).toEqual({ kind: 'partial', range });
  });

  it.each(['bytes=100-', 'bytes=150-200', 'bytes=-0'])('refuses %s on a 100-byte artifact', (header) => {
    expect(decideRange(header, 100)).toEqual({ kind: 'unsatisfiable' });
  });

  it('refuses any range of an empty artifact', () => {
    expect(decideRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it.each(['items=0-9', 'bytes=9-3', 'bytes=-', 'bytes=0-1,5-6', 'bytes=a-b', `bytes=${'9'.repeat(20)}-`])(
    'ignores the malformed or multiple range %s and sends everything',
    (header) => {
      expect(decideRange(header, 100)).toEqual({ kind: 'full' });
    },
  );
});

import { describe, expect, it } from '@jest/globals';
import { childTraceparent, InvalidTraceparentError, newTraceparent, parseTraceparent } from './index.js';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('parseTraceparent', () => {
  it('reads the fields of a valid traceparent', () => {
    expect(parseTraceparent(VALID)).toEqual({
      version: '00',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      flags: '01',
      sampled: true,
    });
  });

  it('reads the sampled flag from bit 0', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.sampled).toBe(false);
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03')?.sampled).toBe(true);
  });

  it('accepts a future version with extra fields', () => {
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future')?.version).toBe('01');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['uppercase hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['extra fields in version 00', `${VALID}-extra`],
    ['garbage', 'not-a-traceparent'],
  ])('rejects %s', (_case, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});

describe('newTraceparent', () => {
  it('starts a sampled trace with random ids', () => {
    const a = newTraceparent();
    const b = newTraceparent();
    expect(a).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(parseTraceparent(a)).toBeDefined();
    expect(parseTraceparent(a)?.traceId).not.toBe(parseTraceparent(b)?.traceId);
  });

  it('uses the injected randomness and never produces an all-zero id', () => {
    const zeros = (size: number) => new Uint8Array(size);
    const value = newTraceparent(zeros);
    expect(value).toBe('00-00000000000000000000000000000001-0000000000000001-01');
    expect(parseTraceparent(value)).toBeDefined();
  });
});

describe('childTraceparent', () => {
  it('keeps the trace id and flags and makes a new span id', () => {
    const child = childTraceparent(VALID);
    const parsed = parseTraceparent(child);
    expect(parsed?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parsed?.flags).toBe('01');
    expect(parsed?.spanId).not.toBe('00f067aa0ba902b7');
  });

  it('accepts a parsed parent and writes version 00', () => {
    const parent = parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x');
    expect(childTraceparent(parent!, (n) => new Uint8Array(n).fill(0xab))).toBe(
      '00-4bf92f3577b34da6a3ce929d0e0e4736-abababababababab-00',
    );
  });

  it('refuses an invalid parent', () => {
    expect(() => childTraceparent('nope')).toThrow(new InvalidTraceparentError('nope'));
    expect(() => childTraceparent('nope')).toThrow('invalid traceparent "nope"');
  });
});

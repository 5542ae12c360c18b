import { describe, expect, it } from '@jest/globals';
import { summarise, traceIdOf } from './audit-log.projection.js';

describe('audit entries', () => {
  it('take the trace id of a W3C traceparent and nothing else', () => {
    expect(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeNull();
    expect(traceIdOf('not-a-traceparent')).toBeNull();
    expect(traceIdOf(undefined)).toBeNull();
  });

  it('summarise scalar fields, cutting long text and leaving nested data out', () => {
    expect(summarise({ a: 'x', n: 1, ok: false, none: null, list: [1], obj: { b: 1 }, long: 'y'.repeat(201) }))
      .toEqual({ a: 'x', n: 1, ok: false, none: null, long: `${'y'.repeat(199)}…` });
  });
});

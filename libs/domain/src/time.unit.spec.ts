import { describe, expect, it } from '@jest/globals';
import { addMs, epochMs, isoOf, utcMinuteOfDay } from './time.js';

describe('instants as data', () => {
  it('reads ISO 8601 instants to the millisecond, with any offset', () => {
    expect(epochMs('1970-01-01T00:00:00Z')).toBe(0);
    expect(epochMs('2026-11-28T09:00:00.250Z')).toBe(Date.UTC(2026, 10, 28, 9, 0, 0, 250));
    expect(epochMs('2024-02-29T23:30:00+02:00')).toBe(Date.UTC(2024, 1, 29, 21, 30));
    expect(epochMs('1969-12-31T23:59:59.999Z')).toBe(-1);
  });

  it('says NaN for what is not an instant', () => {
    expect(epochMs('2026-11-28')).toBeNaN();
    expect(epochMs('soon')).toBeNaN();
  });

  it('writes instants as toISOString does, across years, leap days and centuries', () => {
    for (const ms of [0, 951_782_400_000, 1_709_251_199_999, 4_102_444_800_000, -86_400_001, Date.UTC(2100, 1, 28, 23, 59, 59, 999)]) {
      expect(isoOf(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('adds durations and finds the UTC minute of the day', () => {
    expect(addMs('2026-11-28T23:59:30.000Z', 45_000)).toBe('2026-11-29T00:00:15.000Z');
    expect(utcMinuteOfDay('2026-11-28T22:15:59.000+01:00')).toBe(21 * 60 + 15);
  });
});

import { describe, expect, it } from '@jest/globals';
import { InvalidDurationError, parseIsoDuration } from './iso-duration.js';

describe('ISO 8601 durations in the contracts', () => {
  it('reads the durations of rollout plans in milliseconds', () => {
    expect(parseIsoDuration('PT15M')).toBe(900_000);
    expect(parseIsoDuration('PT0.5S')).toBe(500);
  });

  it('says what is wrong with a duration that is not ISO 8601', () => {
    expect(() => parseIsoDuration('15 minutes')).toThrow(InvalidDurationError);
    expect(() => parseIsoDuration('P1M')).toThrow('uses years or months');
  });
});

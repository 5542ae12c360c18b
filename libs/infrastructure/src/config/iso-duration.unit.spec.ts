import { describe, expect, it } from '@jest/globals';
import { ConfigValueError, InvalidDurationError, isoDuration, parseIsoDuration } from './index.js';

describe('parseIsoDuration', () => {
  it.each([
    ['PT15M', 900_000],
    ['PT0.5S', 500],
    ['PT0,5S', 500],
    ['P1D', 86_400_000],
    ['P2W', 1_209_600_000],
    ['P1DT12H', 129_600_000],
    ['PT1H30M', 5_400_000],
    ['PT1M0.001S', 60_001],
    ['PT1.5H', 5_400_000],
    ['PT0S', 0],
    ['PT1.1S', 1_100],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each([
    ['15m', 'is not an ISO 8601 duration such as PT15M, PT0.5S or P1D'],
    ['pt15m', 'is not an ISO 8601 duration such as PT15M, PT0.5S or P1D'],
    ['PT15', 'is not an ISO 8601 duration such as PT15M, PT0.5S or P1D'],
    ['-PT1S', 'is not an ISO 8601 duration such as PT15M, PT0.5S or P1D'],
    ['PT1S1M', 'is not an ISO 8601 duration such as PT15M, PT0.5S or P1D'],
    ['P1H', 'is not an ISO 8601 duration such as PT15M, PT0.5S or P1D'],
    ['PT.5S', 'is not an ISO 8601 duration such as PT15M, PT0.5S or P1D'],
    ['', 'is not an ISO 8601 duration such as PT15M, PT0.5S or P1D'],
    ['P1Y', 'uses years or months, which have no fixed length; use days (P30D) instead'],
    ['P1M', 'uses years or months, which have no fixed length; use days (P30D) instead'],
    ['P', 'has no components'],
    ['PT', 'has a T with no time components after it'],
    ['P1DT', 'has a T with no time components after it'],
    ['PT1.5M30S', 'has a fraction on a component other than the smallest'],
    ['PT0.0001S', 'is not a whole number of milliseconds'],
    ['P99999999999999D', 'is too long'],
  ])('refuses %j because it %s', (text, reason) => {
    expect(() => parseIsoDuration(text)).toThrow(new InvalidDurationError(text, reason));
  });

  it('as a config parser, trims and reports a ConfigValueError', () => {
    expect(isoDuration(' PT1S ')).toBe(1_000);
    expect(() => isoDuration('1h')).toThrow(ConfigValueError);
    expect(() => isoDuration('1h')).toThrow('value is not an ISO 8601 duration such as PT15M, PT0.5S or P1D');
  });
});

/**
 * ISO 8601 durations in milliseconds. Only units of fixed length are accepted — weeks, days,
 * hours, minutes, seconds — because years and months have no fixed number of milliseconds.
 */

export class InvalidDurationError extends Error {
  constructor(
    readonly value: string,
    readonly reason: string,
  ) {
    super(`${JSON.stringify(value)} ${reason}`);
    this.name = 'InvalidDurationError';
  }
}

const NUMBER = String.raw`(\d+(?:[.,]\d+)?)`;
const SHAPE = new RegExp(
  `^P(?:${NUMBER}Y)?(?:${NUMBER}M)?(?:${NUMBER}W)?(?:${NUMBER}D)?(?:(T)(?:${NUMBER}H)?(?:${NUMBER}M)?(?:${NUMBER}S)?)?$`,
);

const MS = { W: 604_800_000n, D: 86_400_000n, H: 3_600_000n, M: 60_000n, S: 1_000n } as const;

/**
 * `PT15M` → 900000, `PT0.5S` → 500, `P1D` → 86400000, `P1DT12H` → 129600000.
 * @throws InvalidDurationError saying precisely what is wrong
 */
export function parseIsoDuration(text: string): number {
  const fail = (reason: string): never => {
    throw new InvalidDurationError(text, reason);
  };
  const match = SHAPE.exec(text);
  if (match === null) {
    return fail('is not an ISO 8601 duration such as PT15M, PT0.5S or P1D');
  }
  const [, years, months, weeks, days, t, hours, minutes, seconds] = match;
  if (years !== undefined || months !== undefined) {
    fail('uses years or months, which have no fixed length; use days (P30D) instead');
  }
  if (t !== undefined && hours === undefined && minutes === undefined && seconds === undefined) {
    fail('has a T with no time components after it');
  }
  const components: [string | undefined, bigint][] = [
    [weeks, MS.W],
    [days, MS.D],
    [hours, MS.H],
    [minutes, MS.M],
    [seconds, MS.S],
  ];
  const parts = components.filter((p): p is [string, bigint] => p[0] !== undefined);
  if (parts.length === 0) fail('has no components');

  let total = 0n;
  parts.forEach(([value, unitMs], index) => {
    const [whole = '0', fraction = ''] = value.split(/[.,]/);
    if (fraction !== '' && index !== parts.length - 1) fail('has a fraction on a component other than the smallest');
    total += BigInt(whole) * unitMs;
    if (fraction !== '') {
      const scaled = BigInt(fraction) * unitMs;
      const divisor = 10n ** BigInt(fraction.length);
      if (scaled % divisor !== 0n) fail('is not a whole number of milliseconds');
      total += scaled / divisor;
    }
  });
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) fail('is too long');
  return Number(total);
}

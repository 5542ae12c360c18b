/**
 * W3C Trace Context `traceparent` values (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `<version>-<trace-id 32 hex>-<parent-id 16 hex>-<flags 2 hex>`. Pure functions; randomness can be
 * injected for tests.
 */
import { randomBytes } from 'node:crypto';

export interface Traceparent {
  readonly version: string;
  readonly traceId: string;
  /** The span id of the caller (the W3C "parent-id"). */
  readonly spanId: string;
  readonly flags: string;
  readonly sampled: boolean;
}

/** Returns `size` random bytes. */
export type RandomBytes = (size: number) => Uint8Array;

export class InvalidTraceparentError extends Error {
  constructor(readonly value: string) {
    super(`invalid traceparent ${JSON.stringify(value)}: expected 00-<32 hex>-<16 hex>-<2 hex>`);
    this.name = 'InvalidTraceparentError';
  }
}

const FORMAT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZEROS = /^0+$/;

/**
 * Parses a `traceparent` header, or returns `undefined` when it is not valid (callers then start a
 * new trace, as the spec asks). Future versions may append fields, which are ignored.
 */
export function parseTraceparent(value: string | undefined): Traceparent | undefined {
  if (value === undefined) return undefined;
  const match = FORMAT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (ALL_ZEROS.test(traceId) || ALL_ZEROS.test(spanId)) return undefined;
  return { version, traceId, spanId, flags, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** A new trace: `00-<random trace id>-<random span id>-01` (sampled). */
export function newTraceparent(random: RandomBytes = randomBytes): string {
  return format(randomId(16, random), randomId(8, random), '01');
}

/**
 * The traceparent for work done on behalf of `parent`: same trace id and flags, a new span id.
 * @throws InvalidTraceparentError
 */
export function childTraceparent(parent: string | Traceparent, random: RandomBytes = randomBytes): string {
  const parsed = typeof parent === 'string' ? parseTraceparent(parent) : parent;
  if (parsed === undefined) throw new InvalidTraceparentError(parent as string);
  return format(parsed.traceId, randomId(8, random), parsed.flags);
}

function format(traceId: string, spanId: string, flags: string): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

function randomId(bytes: number, random: RandomBytes): string {
  const hex = Buffer.from(random(bytes)).toString('hex');
  // An all-zero id is invalid; the odds are negligible but a fixed source in tests could hit it.
  return ALL_ZEROS.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}

/** Parsers for `ConfigVar.parse`: each turns a raw string into a value or throws ConfigValueError. */
import { readFileSync } from 'node:fs';
import { ConfigValueError } from './config.js';
import { InvalidDurationError, parseIsoDuration } from '@hotswap/contracts';

/** Any string, as given. */
export const str = (raw: string): string => raw;

/** Comma-separated values, trimmed, empty ones dropped (`a, b,` is `['a', 'b']`). */
export const list = (raw: string): string[] => raw.split(',').map((s) => s.trim()).filter((s) => s !== '');

export interface IntOptions {
  readonly min?: number;
  readonly max?: number;
}

/** A base-10 integer, optionally within `[min, max]`. */
export function int(options: IntOptions = {}): (raw: string) => number {
  const { min, max } = options;
  return (raw) => {
    const text = raw.trim();
    const value = Number(text);
    if (!/^[-+]?\d+$/.test(text) || !Number.isSafeInteger(value)) {
      throw new ConfigValueError('must be an integer');
    }
    if (min !== undefined && value < min) throw new ConfigValueError(`must be at least ${min}`);
    if (max !== undefined && value > max) throw new ConfigValueError(`must be at most ${max}`);
    return value;
  };
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, in any case. */
export function bool(raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw new ConfigValueError('must be one of true, false, 1, 0, yes, no, on, off');
}

/** An absolute URL (`nats://127.0.0.1:4222`, `postgres://...`), returned as given. */
export function url(raw: string): string {
  if (!URL.canParse(raw.trim())) throw new ConfigValueError('must be an absolute URL such as nats://127.0.0.1:4222');
  return raw.trim();
}

/** An ISO 8601 duration such as `PT15M`, `PT0.5S` or `P1D`, in milliseconds. */
export function isoDuration(raw: string): number {
  try {
    return parseIsoDuration(raw.trim());
  } catch (error) {
    // The raw value is shown (or hidden, if secret) by loadConfig, so only the reason is kept.
    if (error instanceof InvalidDurationError) throw new ConfigValueError(`value ${error.reason}`);
    throw error;
  }
}

/** One of the listed values, exactly. */
export function oneOf<const T extends string>(choices: readonly T[]): (raw: string) => T {
  return (raw) => {
    const text = raw.trim();
    if (!(choices as readonly string[]).includes(text)) {
      throw new ConfigValueError(`must be one of ${choices.join(', ')}`);
    }
    return text as T;
  };
}

/** The text of the file at `path` (for `..._FILE` variables); `what` names it when it cannot be read. */
export function readConfigFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigValueError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

import { SEMVER_PATTERN } from '@hotswap/contracts';
import { InvalidCommandError } from './errors.js';

/** A parsed semantic version (semver 2.0.0). */
export interface Semver {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Dot-separated pre-release identifiers; numeric ones as numbers. Empty for a release. */
  readonly prerelease: readonly (string | number)[];
  /** Build metadata identifiers; ignored for ordering. */
  readonly build: readonly string[];
  /** The string as given. */
  readonly raw: string;
}

/** Longer strings are refused before matching, as node-semver does, to bound the regex work. */
const MAX_LENGTH = 256;

/** Why `value` is not a semantic version, or undefined when it is one. */
function invalidReason(value: unknown): string | undefined {
  if (typeof value !== 'string') return `version must be a string, got ${typeof value}`;
  if (value.length > MAX_LENGTH) return `version is longer than ${MAX_LENGTH} characters`;
  const match = SEMVER_PATTERN.exec(value);
  if (!match) {
    return `${JSON.stringify(value)} is not a semantic version (MAJOR.MINOR.PATCH[-prerelease][+build], e.g. 1.2.0-rc.1)`;
  }
  const numeric = [match[1], match[2], match[3], ...(match[4]?.split('.') ?? [])].filter((part) => /^\d+$/.test(part));
  const tooLarge = numeric.find((part) => !Number.isSafeInteger(Number(part)));
  if (tooLarge !== undefined) {
    return `${JSON.stringify(value)} has the numeric identifier ${tooLarge}, larger than ${Number.MAX_SAFE_INTEGER}`;
  }
  return undefined;
}

export function isValidSemver(value: unknown): value is string {
  return invalidReason(value) === undefined;
}

/** Parses a semantic version; throws InvalidCommandError naming the string when it is not one. */
export function parseSemver(version: string): Semver {
  const reason = invalidReason(version);
  if (reason !== undefined) throw new InvalidCommandError(reason);
  const [, major, minor, patch, prerelease, build] = SEMVER_PATTERN.exec(version) as RegExpExecArray;
  return {
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    prerelease: prerelease === undefined ? [] : prerelease.split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id)),
    build: build === undefined ? [] : build.split('.'),
    raw: version,
  };
}

function sign(a: number | string, b: number | string): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Pre-release precedence, semver 2.0.0 §11.4: a release outranks any of its pre-releases. */
function comparePrerelease(a: Semver['prerelease'], b: Semver['prerelease']): -1 | 0 | 1 {
  if (a.length === 0 || b.length === 0) return sign(b.length, a.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]];
    if (x === y) continue;
    // Numeric identifiers rank below alphanumeric ones; like kinds compare by value (ASCII for text).
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    return sign(x, y);
  }
  return sign(a.length, b.length);
}

/** Orders two versions by semver precedence (build metadata ignored): -1, 0 or 1. */
export function compareSemver(a: string | Semver, b: string | Semver): -1 | 0 | 1 {
  const [x, y] = [typeof a === 'string' ? parseSemver(a) : a, typeof b === 'string' ? parseSemver(b) : b];
  return sign(x.major, y.major) || sign(x.minor, y.minor) || sign(x.patch, y.patch) || comparePrerelease(x.prerelease, y.prerelease);
}

/**
 * A sorted copy of `versions` by precedence, lowest first unless `direction` is 'desc'. The sort
 * is stable, so versions equal but for build metadata keep their input order.
 */
export function sortVersions(versions: readonly string[], direction: 'asc' | 'desc' = 'asc'): string[] {
  const factor = direction === 'asc' ? 1 : -1;
  return versions
    .map(parseSemver)
    .sort((a, b) => factor * compareSemver(a, b))
    .map((version) => version.raw);
}

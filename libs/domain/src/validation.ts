import { InvalidCommandError } from './errors.js';

// Command checks shared by the deciders. Each throws InvalidCommandError whose message starts
// with `subject` (e.g. `device dev-1`) so the caller sees which aggregate and which field failed.

/** ISO 8601 date-time with seconds and an explicit offset, as `Date.prototype.toISOString` writes. */
const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

export function requireText(subject: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new InvalidCommandError(`${subject}: ${field} is required and must be a non-empty string`);
  }
  return value;
}

export function requireTimestamp(subject: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || !TIMESTAMP_PATTERN.test(value)) {
    throw new InvalidCommandError(
      `${subject}: ${field} must be an ISO 8601 timestamp such as 2025-01-31T12:00:00.000Z, got ${show(value)}`,
    );
  }
  return value;
}

export function requireNonNegativeNumber(subject: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidCommandError(`${subject}: ${field} must be a finite number >= 0, got ${show(value)}`);
  }
  return value;
}

export function requirePositiveInteger(subject: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidCommandError(`${subject}: ${field} must be a positive integer, got ${show(value)}`);
  }
  return value;
}

export function requireOneOf<T extends string>(subject: string, field: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new InvalidCommandError(`${subject}: ${field} must be one of ${allowed.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/** The value as it should appear in an error message: strings and objects as JSON, the rest as is. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  return typeof value === 'string' || typeof value === 'object' ? JSON.stringify(value) : String(value);
}

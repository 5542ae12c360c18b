import { InvalidDurationError, parseIsoDuration } from '@hotswap/contracts';
import { show } from '../validation.js';
import { PlanError } from './planner.js';

// Checks of plan fields. Each error names the field as the request spells it.

export function requireDuration(field: string, value: unknown): number {
  if (typeof value !== 'string') throw new PlanError(field, `is required and must be an ISO 8601 duration such as PT15M, got ${show(value)}`);
  try {
    return parseIsoDuration(value);
  } catch (error) {
    if (error instanceof InvalidDurationError) throw new PlanError(field, `must be an ISO 8601 duration: ${error.message}`);
    throw error;
  }
}

/** A percentage strictly above 0 and at most `max` (100, or below 100 where a remainder is needed). */
export function requirePercentage(field: string, value: unknown, { max = 100, maxInclusive = true } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new PlanError(field, `is required and must be a number, got ${show(value)}`);
  if (value <= 0 || value > max || (!maxInclusive && value === max)) {
    throw new PlanError(field, `must be above 0 and ${maxInclusive ? 'at most' : 'below'} ${max}, got ${value}`);
  }
  return value;
}

export function refuseFields(strategy: string, fields: Record<string, unknown>): void {
  const given = Object.entries(fields).filter(([, value]) => value !== undefined).map(([name]) => name);
  if (given.length > 0) throw new PlanError(given[0], `does not apply to the ${strategy} strategy`);
}

import { Reflector } from '@nestjs/core';

/**
 * The spec's rate-limited operations: model uploads, distribution creation, and reads (`monitor`,
 * every authenticated GET).
 */
export const RATE_LIMIT_RULES = ['upload', 'createDistribution', 'monitor'] as const;
export type RateLimitRule = (typeof RATE_LIMIT_RULES)[number];

export interface RateLimit {
  /** Requests allowed per user in one window. */
  readonly limit: number;
  /** Window length in milliseconds (fixed windows aligned to the epoch). */
  readonly windowMs: number;
}

/** The limit of each rule; a rule left out is not limited. */
export type RateLimitOptions = Partial<Record<RateLimitRule, RateLimit>>;

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** The spec's limits: 10 uploads/hour, 20 distributions/hour, 600 reads/minute, per user. */
export const DEFAULT_RATE_LIMITS: Readonly<Record<RateLimitRule, RateLimit>> = {
  upload: { limit: 10, windowMs: HOUR_MS },
  createDistribution: { limit: 20, windowMs: HOUR_MS },
  monitor: { limit: 600, windowMs: MINUTE_MS },
};

/** What a rule counts, for the 429 message. */
export const RATE_LIMIT_SUBJECTS: Readonly<Record<RateLimitRule, string>> = {
  upload: 'model uploads',
  createDistribution: 'distributions created',
  monitor: 'read requests',
};

/** The rule a route counts against; authenticated GET routes without it count as `monitor`. */
export const RateLimited = Reflector.createDecorator<RateLimitRule>();

/** @throws RangeError naming the rule and field when a limit is not a positive integer */
export function assertValidRateLimits(options: RateLimitOptions): void {
  for (const [rule, value] of Object.entries(options)) {
    if (!(RATE_LIMIT_RULES as readonly string[]).includes(rule)) {
      throw new RangeError(`GatewayDeps.rateLimits.${rule} is not a rule; rules are ${RATE_LIMIT_RULES.join(', ')}`);
    }
    if (value === undefined) continue;
    for (const field of ['limit', 'windowMs'] as const) {
      if (!Number.isSafeInteger(value[field]) || value[field] < 1) {
        throw new RangeError(`GatewayDeps.rateLimits.${rule}.${field} must be a positive integer, got ${value[field]}`);
      }
    }
  }
}

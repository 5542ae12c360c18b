import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import type { RateLimit, RateLimitOptions, RateLimitRule } from './rate-limit-rules.js';

/** KV bucket of the rate-limit counters, shared by every gateway replica. */
export const RATE_LIMIT_BUCKET = 'hotswap-rate-limits';

/** Concurrent increments of one counter retry this often before giving up. */
const MAX_ATTEMPTS = 20;

export type RateLimitDecision =
  | { readonly allowed: true; readonly count: number }
  | { readonly allowed: false; readonly limit: RateLimit; readonly retryAfterSeconds: number };

/** The counters could not be read or written (→ 503). */
export class RateLimitUnavailableError extends Error {
  override readonly name = 'RateLimitUnavailableError';
}

/**
 * Fixed-window counters in NATS KV, key `<rule>.<user>.<window index>`. Each increment is a
 * compare-and-set on the key's revision (`kv.create` / `kv.update`), retried on conflict, so
 * replicas never lose a count. The bucket's TTL (twice the longest window) removes old windows.
 */
export class RateLimiter {
  private constructor(
    private readonly kv: KV,
    private readonly limits: RateLimitOptions,
  ) {}

  static async open(connection: NatsConnection, limits: RateLimitOptions): Promise<RateLimiter> {
    const longest = Math.max(0, ...Object.values(limits).map((limit) => limit?.windowMs ?? 0));
    const kvm = new Kvm(connection);
    let kv: KV;
    try {
      kv = await kvm.create(RATE_LIMIT_BUCKET, { history: 1, ttl: 2 * longest });
    } catch (error) {
      // Another replica created it with other windows: share its bucket as it is.
      if (!(error instanceof JetStreamApiError)) throw error;
      kv = await kvm.open(RATE_LIMIT_BUCKET);
    }
    return new RateLimiter(kv, limits);
  }

  /** Counts one request of `user` under `rule` at `now`, unless the window's limit is reached. */
  async consume(rule: RateLimitRule, user: string, now: Date): Promise<RateLimitDecision> {
    const limit = this.limits[rule];
    if (limit === undefined) return { allowed: true, count: 0 };
    const window = Math.floor(now.getTime() / limit.windowMs);
    // KV keys allow only [-/_=.a-zA-Z0-9]; subjects of OIDC providers may hold anything.
    const key = `${rule}.${Buffer.from(user).toString('base64url')}.${window}`;
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * limit.windowMs - now.getTime()) / 1000));
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      try {
        const entry = await this.kv.get(key);
        if (entry === null || entry.operation !== 'PUT') {
          await this.kv.create(key, '1');
          return { allowed: true, count: 1 };
        }
        const count = Number(entry.string());
        if (count >= limit.limit) return { allowed: false, limit, retryAfterSeconds };
        await this.kv.update(key, String(count + 1), entry.revision);
        return { allowed: true, count: count + 1 };
      } catch (error) {
        lastError = error;
        if (!isConflict(error)) break;
      }
    }
    throw new RateLimitUnavailableError(`the rate limit of ${rule} could not be counted: ${(lastError as Error).message}`, { cause: lastError });
  }
}

function isConflict(error: unknown): boolean {
  return error instanceof JetStreamApiError
    && (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

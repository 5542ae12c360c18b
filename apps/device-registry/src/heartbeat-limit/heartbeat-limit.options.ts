import { defineConfig, int, isoDuration, loadConfig } from '@hotswap/infrastructure';

export interface HeartbeatLimitOptions {
  /** Device heartbeats processed per minute by the whole fleet's registry replicas together; 0 turns the limit off. Default 1000. */
  readonly perMinute: number;
  /** Tokens a replica takes from the shared counter in one KV update, so a heartbeat costs no KV call of its own. Default 50. */
  readonly blockSize: number;
  /**
   * How often devices whose heartbeats were dropped get their last-seen time written, in one statement, in ms.
   * Default 30000, or a quarter of the registry's `offlineAfterMs` when that is shorter.
   */
  readonly seenFlushIntervalMs: number;
}

export const HEARTBEAT_LIMIT_OPTIONS = Symbol.for('hotswap.device-registry.heartbeat-limit');

export const defaultHeartbeatLimitOptions: HeartbeatLimitOptions = { perMinute: 1000, blockSize: 50, seenFlushIntervalMs: 30_000 };

export const heartbeatLimitConfig = defineConfig({
  perMinute: {
    env: 'HOTSWAP_HEARTBEAT_LIMIT_PER_MINUTE', default: String(defaultHeartbeatLimitOptions.perMinute), parse: int({ min: 0 }),
    description: 'device heartbeats processed per minute across all device-registry replicas (0: unlimited)',
  },
  blockSize: {
    env: 'HOTSWAP_HEARTBEAT_LIMIT_BLOCK', default: String(defaultHeartbeatLimitOptions.blockSize), parse: int({ min: 1 }),
    description: 'heartbeat tokens a replica reserves from the shared NATS KV counter at once',
  },
  seenFlushIntervalMs: {
    env: 'HOTSWAP_HEARTBEAT_SEEN_FLUSH_INTERVAL', optional: true, parse: isoDuration,
    description: 'how often devices whose heartbeats were dropped are marked as seen; PT30S or a quarter of HOTSWAP_DEVICE_OFFLINE_AFTER when unset',
  },
});

/** @throws ConfigError naming every invalid variable. */
export function heartbeatLimitFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Partial<HeartbeatLimitOptions> {
  const { seenFlushIntervalMs, ...limit } = loadConfig(heartbeatLimitConfig, env);
  return { ...limit, ...(seenFlushIntervalMs === undefined ? {} : { seenFlushIntervalMs }) };
}

/**
 * The options in force: unset ones take the defaults, and the seen-flush interval stays well under
 * the offline limit, so a rate-limited device is marked seen before it could be marked Offline.
 */
export function resolveHeartbeatLimit(options: Partial<HeartbeatLimitOptions> | undefined, offlineAfterMs: number): HeartbeatLimitOptions {
  const seenFlushIntervalMs = Math.min(defaultHeartbeatLimitOptions.seenFlushIntervalMs, Math.max(1, Math.floor(offlineAfterMs / 4)));
  const resolved = { ...defaultHeartbeatLimitOptions, seenFlushIntervalMs, ...options };
  assertValidHeartbeatLimit(resolved);
  return resolved;
}

export function assertValidHeartbeatLimit(options: HeartbeatLimitOptions): void {
  if (!Number.isSafeInteger(options.perMinute) || options.perMinute < 0) {
    throw new RangeError(`heartbeatLimit.perMinute must be an integer >= 0, got ${options.perMinute}`);
  }
  if (!Number.isSafeInteger(options.blockSize) || options.blockSize < 1) {
    throw new RangeError(`heartbeatLimit.blockSize must be an integer >= 1, got ${options.blockSize}`);
  }
  if (!(Number.isFinite(options.seenFlushIntervalMs) && options.seenFlushIntervalMs >= 1)) {
    throw new RangeError(`heartbeatLimit.seenFlushIntervalMs must be at least 1, got ${options.seenFlushIntervalMs}`);
  }
}

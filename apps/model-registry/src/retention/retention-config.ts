import type { RetentionPolicy } from '@hotswap/contracts';
import { defineConfig, int, isoDuration, loadConfig } from '@hotswap/infrastructure';

export interface RetentionOptions {
  readonly policy: RetentionPolicy;
  /** How often the policy runs when it has a rule, in ms. */
  readonly intervalMs: number;
}

/** Off: no rule, so nothing is ever deleted by the policy. */
export const DEFAULT_RETENTION_OPTIONS: RetentionOptions = { policy: {}, intervalMs: 3_600_000 };

export const retentionConfig = defineConfig({
  keepLatest: {
    env: 'HOTSWAP_RETENTION_KEEP_LATEST', optional: true, parse: int({ min: 1 }),
    description: 'retention: keep the newest N versions of each model name (off when unset)',
  },
  maxAgeMs: {
    env: 'HOTSWAP_RETENTION_MAX_AGE', optional: true, parse: isoDuration,
    description: 'retention: keep versions uploaded less than this long ago, ISO 8601 such as P30D (off when unset)',
  },
  intervalMs: {
    env: 'HOTSWAP_RETENTION_INTERVAL', default: 'PT1H', parse: isoDuration,
    description: 'how often the retention policy runs when one of its rules is set',
  },
});

/**
 * The retention policy from the environment; off (no rule) unless a rule variable is set.
 * @throws ConfigError naming every invalid variable.
 */
export function retentionOptionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): RetentionOptions {
  const c = loadConfig(retentionConfig, env);
  if (c.intervalMs < 1_000) throw new RangeError('HOTSWAP_RETENTION_INTERVAL must be at least PT1S');
  return {
    policy: { ...(c.keepLatest === undefined ? {} : { keepLatest: c.keepLatest }), ...(c.maxAgeMs === undefined ? {} : { maxAgeMs: c.maxAgeMs }) },
    intervalMs: c.intervalMs,
  };
}

export const isPolicyOn = (policy: RetentionPolicy) => policy.keepLatest !== undefined || policy.maxAgeMs !== undefined;

/** `P30D`, `PT1H`, `PT90S`: the policy's age as the ISO 8601 duration an operator would write. */
export function formatDuration(ms: number): string {
  const day = 86_400_000;
  if (ms % day === 0) return `P${ms / day}D`;
  if (ms % 3_600_000 === 0) return `PT${ms / 3_600_000}H`;
  if (ms % 60_000 === 0) return `PT${ms / 60_000}M`;
  return `PT${ms / 1000}S`;
}

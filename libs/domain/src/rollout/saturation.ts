import { InvalidCommandError } from '../errors.js';
import { show } from '../validation.js';

/**
 * One reading of the process's resources, as the distributor's sampler takes it. CPU time is
 * cumulative, so the share over any window is the difference of two readings.
 */
export interface ResourceReading {
  /** Monotonic time of the reading, ms. */
  readonly atMs: number;
  /** CPU time (user + system) the process has used since it started, ms. */
  readonly cpuMs: number;
  /** CPUs the process may use (its cgroup quota, else the machine's cores), e.g. 2 or 0.5. */
  readonly cpuCores: number;
  /** Memory in use (resident set size), bytes. */
  readonly memoryBytes: number;
  /** Memory the process may use, bytes. */
  readonly memoryLimitBytes: number;
}

export interface SaturationThresholds {
  /** Saturated when the CPU share of `cpuCores`, averaged over `windowMs`, is above this (0..1]. */
  readonly cpuShare: number;
  /** Saturated when memory in use is above this share of the limit (0..1]. */
  readonly memoryShare: number;
  /** The CPU share is averaged over this long: a burst shorter than the window is not saturation. */
  readonly windowMs: number;
  /** Recovery needs both shares below their threshold minus this, so the state does not flap at the edge. */
  readonly hysteresis: number;
  /** The throttle never goes below this: a saturated distributor slows down, it does not stop. */
  readonly minThrottle: number;
  /** Each assessment over a limit multiplies the throttle by this (0..1). */
  readonly decrease: number;
  /** Each assessment clear of the limits adds this to the throttle, up to 1. */
  readonly increase: number;
}

export const DEFAULT_SATURATION_THRESHOLDS: SaturationThresholds = {
  cpuShare: 0.8,
  memoryShare: 0.75,
  windowMs: 30_000,
  hysteresis: 0.1,
  minThrottle: 0.1,
  decrease: 0.5,
  increase: 0.1,
};

export interface Saturation {
  /** Over a limit, or not yet back below it by the hysteresis. */
  readonly saturated: boolean;
  /** Share of the normal request allowance to use now, in [minThrottle, 1]. */
  readonly throttle: number;
  /** Why it is saturated, with the figures (absent when it is not). */
  readonly reason?: string;
  /** CPU share over the window; null until the readings cover a whole window. */
  readonly cpuShare: number | null;
  /** Memory in use over the limit; null without a usable reading. */
  readonly memoryShare: number | null;
}

export const NOT_SATURATED: Saturation = { saturated: false, throttle: 1, cpuShare: null, memoryShare: null };

/**
 * Checks thresholds (from configuration), naming the first bad field.
 * @throws InvalidCommandError
 */
export function checkSaturationThresholds(thresholds: SaturationThresholds): SaturationThresholds {
  const within = (field: keyof SaturationThresholds, min: number, max: number, minOpen: boolean, maxOpen: boolean) => {
    const value = thresholds[field];
    const ok = typeof value === 'number' && Number.isFinite(value)
      && (minOpen ? value > min : value >= min) && (maxOpen ? value < max : value <= max);
    if (!ok) throw new InvalidCommandError(`saturation thresholds: ${field} must be in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}, got ${show(value)}`);
  };
  within('cpuShare', 0, 1, true, false);
  within('memoryShare', 0, 1, true, false);
  within('windowMs', 0, Number.MAX_SAFE_INTEGER, true, false);
  within('hysteresis', 0, 1, false, true);
  within('minThrottle', 0, 1, true, false);
  within('decrease', 0, 1, true, true);
  within('increase', 0, 1, true, false);
  return thresholds;
}

/**
 * The readings `assessSaturation` still needs: the newest one at least `windowMs` older than the
 * latest (the window's start) and every one after it. Readings are oldest first.
 */
export function trimReadings(readings: readonly ResourceReading[], windowMs: number): ResourceReading[] {
  const last = readings.at(-1);
  if (last === undefined) return [];
  let start = 0;
  for (let i = 0; i < readings.length; i += 1) if (readings[i].atMs <= last.atMs - windowMs) start = i;
  return readings.slice(start);
}

/** CPU share of the process's cores over the last `windowMs`; null until the readings span a whole window. */
export function cpuShareOver(readings: readonly ResourceReading[], windowMs: number): number | null {
  const window = trimReadings(readings, windowMs);
  const first = window[0];
  const last = window.at(-1);
  if (first === undefined || last === undefined || last.atMs - first.atMs < windowMs) return null;
  if (!(last.cpuCores > 0) || !(last.cpuMs >= first.cpuMs)) return null;
  return (last.cpuMs - first.cpuMs) / (last.atMs - first.atMs) / last.cpuCores;
}

/**
 * Whether the distributor is saturated and how much to throttle its rollouts, from its previous
 * assessment and its latest resource readings (oldest first). Over a limit: saturated, and the
 * throttle is cut by `decrease` at each assessment down to `minThrottle`. Clear of both limits by
 * the hysteresis: not saturated, and the throttle climbs back by `increase` to 1. In between:
 * nothing changes, so a share hovering at a threshold does not make it flap.
 */
export function assessSaturation(previous: Saturation, readings: readonly ResourceReading[], thresholds: SaturationThresholds): Saturation {
  const cpuShare = cpuShareOver(readings, thresholds.windowMs);
  const last = readings.at(-1);
  const memoryShare = last !== undefined && last.memoryLimitBytes > 0 && last.memoryBytes >= 0 ? last.memoryBytes / last.memoryLimitBytes : null;
  const over: string[] = [];
  if (cpuShare !== null && cpuShare > thresholds.cpuShare) {
    over.push(`CPU ${percent(cpuShare)} of ${cores(last?.cpuCores ?? 0)} over the last ${seconds(thresholds.windowMs)}, above ${percent(thresholds.cpuShare)}`);
  }
  if (memoryShare !== null && memoryShare > thresholds.memoryShare) {
    over.push(`memory ${percent(memoryShare)} of ${mebibytes(last?.memoryLimitBytes ?? 0)} (${mebibytes(last?.memoryBytes ?? 0)}), above ${percent(thresholds.memoryShare)}`);
  }
  const figures = { cpuShare, memoryShare };
  if (over.length > 0) {
    return { saturated: true, throttle: Math.max(thresholds.minThrottle, previous.throttle * thresholds.decrease), reason: over.join('; '), ...figures };
  }
  const clear = (cpuShare === null || cpuShare < thresholds.cpuShare - thresholds.hysteresis)
    && (memoryShare === null || memoryShare < thresholds.memoryShare - thresholds.hysteresis);
  if (clear) return { saturated: false, throttle: Math.min(1, previous.throttle + thresholds.increase), ...figures };
  return { ...previous, ...figures };
}

const percent = (share: number) => `${Math.round(share * 100)}%`;
const cores = (n: number) => `${Math.round(n * 100) / 100} ${n === 1 ? 'core' : 'cores'}`;
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
const mebibytes = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;

import {
  invalidIdReason, STRATEGIES, type DeviceCapabilities, type ExcludedTarget, type ExecutionPolicy, type ExecutionSettings,
  type MaintenanceWindow, type Strategy, type SuccessCriteria,
} from '@hotswap/contracts';
import { epochMs, utcMinuteOfDay } from '../time.js';
import { show } from '../validation.js';
import { abTestingPlanner } from './ab-testing.js';
import { canaryPlanner } from './canary.js';
import { directPlanner } from './direct.js';
import { requireDuration } from './fields.js';
import { progressivePlanner } from './progressive.js';
import { regionalPlanner } from './regional.js';
import {
  assertDistinctTargets, fleetDevice, PlanError, type DistributionPlan, type FleetDevice, type PlanRequest, type StrategyPlanner,
} from './planner.js';

export const PLANNERS: Readonly<Record<Strategy, StrategyPlanner>> = {
  Direct: directPlanner,
  RegionalRollout: regionalPlanner,
  Canary: canaryPlanner,
  ABTesting: abTestingPlanner,
  ProgressiveRollout: progressivePlanner,
};

/**
 * Checks a distribution request and plans it: targets that cannot run the model are excluded with
 * the reason, the strategy splits the rest into waves, and waves holding protected targets (e.g.
 * tagged `production`) wait for approval. Throws a `PlanError` naming the first bad field.
 */
export function planDistribution(request: PlanRequest): DistributionPlan {
  if (!STRATEGIES.includes(request.strategy)) throw new PlanError('strategy', `must be one of ${STRATEGIES.join(', ')}, got ${show(request.strategy)}`);
  const modelId = request.strategy === 'ABTesting' ? request.modelB ?? request.modelId : request.modelId;
  if (request.strategy !== 'ABTesting' && (typeof modelId !== 'string' || modelId === '')) throw new PlanError('modelId', 'is required');
  assertDistinctTargets('distribution', request.targets);
  for (const target of request.targets) {
    const problem = invalidIdReason('device id', target);
    if (problem !== undefined) throw new PlanError('targetDevices', problem);
  }
  checkSuccessCriteria(request.successCriteria);
  checkMaintenanceWindows(request.maintenanceWindows, request.knownRegions);
  if (request.startAt !== undefined && Number.isNaN(epochMs(request.startAt))) {
    throw new PlanError('schedule.startAt', `must be an ISO 8601 instant, got ${show(request.startAt)}`);
  }

  const excluded: ExcludedTarget[] = [];
  const eligible: string[] = [];
  for (const deviceId of request.targets) {
    const reason = unmetRequirement(fleetDevice(request.fleet, deviceId), request.requirements);
    if (reason === undefined) eligible.push(deviceId);
    else excluded.push({ deviceId, reason });
  }
  const planner = PLANNERS[request.strategy];
  const { waves, abTest } = planner.plan({ request, modelId: modelId ?? '', targets: eligible });
  const protectedTags = new Set(request.protectedTags);
  const isProtected = (id: string) => (fleetDevice(request.fleet, id)?.tags ?? []).some((tag) => protectedTags.has(tag));
  const planned = waves
    .filter((wave) => wave.deviceIds.length > 0)
    .map((wave) => (wave.approval === undefined && wave.deviceIds.some(isProtected) ? { ...wave, approval: 'protected-targets' as const } : wave));
  if (planned.length === 0) {
    const why = excluded.length > 0 ? `: ${excluded.slice(0, 3).map((e) => `${e.deviceId} (${e.reason})`).join(', ')}` : '';
    throw new PlanError('targets', `leave no device that can run ${abTest ? `${abTest.modelA} and ${abTest.modelB}` : modelId}${why}`);
  }
  return { strategy: request.strategy, modelId: modelId ?? '', waves: planned, excluded, ...(abTest ? { abTest } : {}) };
}

/** Why a device cannot run a model with these requirements, or undefined when it can (or they are unknown). */
export function unmetRequirement(device: FleetDevice | undefined, requirements: Partial<DeviceCapabilities> | undefined): string | undefined {
  if (requirements === undefined) return undefined;
  const capabilities = device?.capabilities;
  if (capabilities === undefined) return 'its capabilities are unknown';
  if (requirements.gpu === true && !capabilities.gpu) return 'the model needs a GPU and the device has none';
  const numeric: [keyof DeviceCapabilities, string][] = [['cpuCores', 'CPU cores'], ['memoryMb', 'MB of memory'], ['storageMb', 'MB of storage']];
  for (const [key, unit] of numeric) {
    const needed = requirements[key];
    if (typeof needed === 'number' && (capabilities[key] as number) < needed) {
      return `the model needs ${needed} ${unit} and the device has ${capabilities[key] as number}`;
    }
  }
  return undefined;
}

function checkSuccessCriteria(criteria: SuccessCriteria | undefined): void {
  if (criteria === undefined) return;
  for (const [key, max] of [['maxLatencyMs', Infinity], ['minAccuracy', 1], ['maxErrorRate', 1]] as const) {
    const value = criteria[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max)) {
      throw new PlanError(`successCriteria.${key}`, `must be a number from 0${max === Infinity ? '' : ` to ${max}`}, got ${show(value)}`);
    }
  }
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function checkMaintenanceWindows(windows: readonly MaintenanceWindow[] | undefined, knownRegions: readonly string[]): void {
  const known = new Set(knownRegions);
  (windows ?? []).forEach((window, index) => {
    for (const field of ['start', 'end'] as const) {
      if (!HH_MM.test(String(window[field]))) throw new PlanError(`maintenanceWindows[${index}].${field}`, `must be a UTC time of day HH:MM, got ${show(window[field])}`);
    }
    if (window.start === window.end) throw new PlanError(`maintenanceWindows[${index}].end`, 'must differ from start');
    (window.regions ?? []).forEach((region, r) => {
      if (!known.has(region)) throw new PlanError(`maintenanceWindows[${index}].regions[${r}]`, `names an unknown region ${JSON.stringify(region)}`);
    });
  });
}

/** Minutes after midnight UTC of `HH:MM`. */
function minutesOf(hhmm: string): number {
  const match = HH_MM.exec(hhmm);
  return match === null ? 0 : Number(match[1]) * 60 + Number(match[2]);
}

/**
 * Whether a device of `region` may be swapped at `now` (ISO): always when no window names its
 * region, else only inside one of those windows (which may wrap midnight).
 */
export function insideMaintenanceWindow(windows: readonly MaintenanceWindow[] | undefined, region: string | undefined, now: string): boolean {
  const mine = (windows ?? []).filter((w) => region !== undefined && w.regions.includes(region));
  if (mine.length === 0) return true;
  const minute = utcMinuteOfDay(now);
  return mine.some(({ start, end }) => {
    const [from, to] = [minutesOf(start), minutesOf(end)];
    return from < to ? minute >= from && minute < to : minute >= from || minute < to;
  });
}

/** The execution settings of a request over the service's defaults; durations parsed, each checked. */
export function toExecutionPolicy(settings: ExecutionSettings | undefined, defaults: ExecutionPolicy): ExecutionPolicy {
  const s = settings ?? {};
  const duration = (field: keyof ExecutionSettings, fallback: number) =>
    (s[field] === undefined ? fallback : requireDuration(`execution.${field}`, s[field]));
  const number = (field: keyof ExecutionSettings, fallback: number, min: number, max: number, integer: boolean) => {
    const value = s[field];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new PlanError(`execution.${field}`, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${show(value)}`);
    }
    return value;
  };
  const ratePerMinute = number('ratePerMinute', defaults.ratePerMinute, 0, 10_000_000, true);
  return {
    maxInFlight: number('maxInFlight', defaults.maxInFlight, 1, 100_000, true),
    ratePerMinute,
    rampFactor: number('rampFactor', defaults.rampFactor, 1, 100, false),
    initialRatePerMinute: number('initialRatePerMinute', s.ratePerMinute !== undefined && s.initialRatePerMinute === undefined ? ratePerMinute : defaults.initialRatePerMinute, 1, 10_000_000, true),
    deviceTimeoutMs: duration('deviceTimeout', defaults.deviceTimeoutMs),
    maxRetries: number('maxRetries', defaults.maxRetries, 0, 10, true),
    retryBackoffMs: duration('retryBackoff', defaults.retryBackoffMs),
    healthWindowMs: duration('healthWindow', defaults.healthWindowMs),
    minHealthSamples: number('minHealthSamples', defaults.minHealthSamples, 0, 1_000_000, true),
    maxFailurePercentage: number('maxFailurePercentage', defaults.maxFailurePercentage, 0, 100, false),
  };
}

/**
 * How many devices a distribution may have commanded after `elapsedMs` of running: minute k (from
 * 0) adds `min(ratePerMinute, initialRatePerMinute * rampFactor^k)`; unlimited when the rate is 0.
 */
export function requestAllowance(policy: ExecutionPolicy, elapsedMs: number): number {
  if (policy.ratePerMinute <= 0) return Number.POSITIVE_INFINITY;
  const minutes = Math.floor(Math.max(0, elapsedMs) / 60_000);
  let allowed = 0;
  let rate = Math.min(policy.ratePerMinute, policy.initialRatePerMinute);
  for (let k = 0; k <= minutes; k += 1) {
    allowed += Math.min(policy.ratePerMinute, rate);
    // Once at the ceiling, the remaining minutes are a product.
    if (rate >= policy.ratePerMinute) return allowed + (minutes - k) * policy.ratePerMinute;
    rate *= policy.rampFactor;
  }
  return allowed;
}

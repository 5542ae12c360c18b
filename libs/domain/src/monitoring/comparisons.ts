import type { Strategy } from '@hotswap/contracts';
import type { BaselineSource, Comparison } from './degradation.js';
import { EMPTY_TELEMETRY, mergeWindows, type MergedTelemetry, type WindowFigures } from './telemetry.js';

/** A target of a distribution as the monitor sees it (times in epoch ms). */
export interface MonitoredTarget {
  readonly deviceId: string;
  /** Its wave's monitoring group (`canary`, `control`, `A`, `B`, a region…). */
  readonly group: string;
  /** The model its wave gives it. */
  readonly modelId: string;
  /** What it ran before its swap. */
  readonly fromModelId?: string;
  /** When it reported the new model serving. */
  readonly swappedAtMs?: number;
}

export interface MonitoredDistribution {
  readonly strategy: Strategy;
  /** When it started (its creation before that). */
  readonly startedAtMs: number;
  readonly targets: readonly MonitoredTarget[];
}

/** A telemetry window of one device (times in epoch ms). */
export interface ObservedWindow extends WindowFigures {
  readonly deviceId: string;
  readonly modelId: string;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
}

/**
 * What a window says about its target: `new` — served by the target's new model since its swap
 * (or since the start, for a device already running it); `before-swap` — served by the model it ran
 * before its swap; `unswapped` — served by its current model while it still waits for the new one.
 */
export type WindowRole = 'new' | 'before-swap' | 'unswapped';

export function roleOf(target: MonitoredTarget, window: ObservedWindow, startedAtMs: number): WindowRole | undefined {
  if (window.modelId === target.modelId) {
    return window.windowEndMs > (target.swappedAtMs ?? startedAtMs) ? 'new' : undefined;
  }
  if (target.swappedAtMs === undefined) return window.windowEndMs > startedAtMs ? 'unswapped' : undefined;
  return window.modelId === target.fromModelId && window.windowStartMs < target.swappedAtMs ? 'before-swap' : undefined;
}

/** How far back the rules look. */
export interface ComparisonHorizon {
  readonly nowMs: number;
  /** The new model's (and the control group's) windows that ended this recently. */
  readonly detectionWindowMs: number;
  /** The old model's windows that ended this long before each device's swap. */
  readonly baselineWindowMs: number;
  /** A control group (or group A) with fewer inferences gives way to the devices' own past. */
  readonly minSamples: number;
}

/** The group that serves as the baseline of `group` under `strategy`, if it is compared with another group. */
function baselineGroupOf(strategy: Strategy, group: string): 'control' | 'A' | undefined {
  if (strategy === 'Canary' && group === 'canary') return 'control';
  if (strategy === 'ABTesting' && group === 'B') return 'A';
  return undefined;
}

/**
 * Each group on its new model next to its baseline, over the recent horizon: the canary against
 * the control group (its devices still on their old model), A/B's group B against group A, and
 * every other group against the same devices on their previous model before their swap. A group
 * whose control has fewer than `minSamples` inferences falls back to its devices' own past, except
 * A/B's group B, which waits for group A. Group A of an A/B test is a baseline only. Groups without new-model telemetry are left out.
 */
export function compareGroups(distribution: MonitoredDistribution, windows: readonly ObservedWindow[], horizon: ComparisonHorizon): Comparison[] {
  const byDevice = new Map<string, ObservedWindow[]>();
  for (const w of windows) push(byDevice, w.deviceId, w);
  const recent = horizon.nowMs - horizon.detectionWindowMs;
  const windowsOf = (targets: readonly MonitoredTarget[], role: WindowRole) => targets.flatMap((t) => (byDevice.get(t.deviceId) ?? []).filter((w) => {
    if (roleOf(t, w, distribution.startedAtMs) !== role) return false;
    return role === 'before-swap' ? w.windowEndMs > (t.swappedAtMs ?? 0) - horizon.baselineWindowMs : w.windowEndMs > recent;
  }));

  const groups = new Map<string, MonitoredTarget[]>();
  for (const t of distribution.targets) {
    if (distribution.strategy === 'ABTesting' && t.group === 'A') continue;
    const key = JSON.stringify([t.group, t.modelId]);
    push(groups, key, t);
  }
  const comparisons: Comparison[] = [];
  for (const [key, targets] of groups) {
    const [group, modelId] = JSON.parse(key) as [string, string];
    const observed = mergeWindows(windowsOf(targets, 'new'));
    if (observed.windows === 0) continue;
    let baselineWindows: ObservedWindow[] = [];
    let baseline: MergedTelemetry = EMPTY_TELEMETRY;
    let baselineSource: BaselineSource | undefined;
    const other = baselineGroupOf(distribution.strategy, group);
    if (other !== undefined) {
      const members = distribution.targets.filter((t) => t.group === other);
      baselineWindows = windowsOf(members, other === 'control' ? 'unswapped' : 'new');
      baseline = mergeWindows(baselineWindows);
      baselineSource = other === 'control' ? { kind: 'control' } : { kind: 'group', group: other };
    }
    // A/B's groups run side by side on the same kind of devices at the same time: B's own past is
    // not a fair baseline (A's model shares the sites' load), so B waits for A to have enough.
    if (baselineSource === undefined || (baseline.samples < horizon.minSamples && distribution.strategy !== 'ABTesting')) {
      const swapped = targets.filter((t) => t.swappedAtMs !== undefined);
      baselineWindows = windowsOf(swapped, 'before-swap');
      baseline = mergeWindows(baselineWindows);
      baselineSource = { kind: 'before-swap', modelIds: [...new Set(swapped.flatMap((t) => (t.fromModelId ? [t.fromModelId] : [])))].sort() };
    }
    comparisons.push({
      group, modelId, observed, baseline, baselineSource,
      baselineModelIds: [...new Set(baselineWindows.map((w) => w.modelId))].sort(),
      baselineDevices: new Set(baselineWindows.map((w) => w.deviceId)).size,
    });
  }
  return comparisons;
}

/** Merged figures of one group on one model. */
export interface GroupFigures {
  readonly group: string;
  readonly modelId: string;
  readonly devices: number;
  readonly figures: MergedTelemetry;
  /** First window start and last window end, for throughput. */
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * Every window of the distribution's targets since it started, per group and the model that
 * served it (a canary device before its swap counts on its old model), in group, then model order.
 */
export function figuresByGroup(distribution: MonitoredDistribution, windows: readonly ObservedWindow[]): GroupFigures[] {
  return groupBy(distribution, windows, () => '').map(({ group, modelId, windows: ws }) => ({
    group, modelId, devices: new Set(ws.map((w) => w.deviceId)).size, figures: mergeWindows(ws),
    fromMs: Math.min(...ws.map((w) => w.windowStartMs)), toMs: Math.max(...ws.map((w) => w.windowEndMs)),
  }));
}

/** One point of a time series: the windows of a group and model that ended in one interval. */
export interface SeriesPoint {
  /** Start of the interval (epoch ms, a multiple of the interval). */
  readonly atMs: number;
  readonly group: string;
  readonly modelId: string;
  readonly figures: MergedTelemetry;
}

/** The windows of `figuresByGroup` per interval of `intervalMs` (by window end), oldest first. */
export function timeSeries(distribution: MonitoredDistribution, windows: readonly ObservedWindow[], intervalMs: number): SeriesPoint[] {
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
  const bucket = (w: ObservedWindow) => String(Math.floor((w.windowEndMs - 1) / intervalMs) * intervalMs);
  return groupBy(distribution, windows, bucket)
    .map(({ group, modelId, extra, windows: ws }) => ({ atMs: Number(extra), group, modelId, figures: mergeWindows(ws) }))
    .sort((a, b) => a.atMs - b.atMs || compare(a.group, b.group) || compare(a.modelId, b.modelId));
}

function groupBy(distribution: MonitoredDistribution, windows: readonly ObservedWindow[], extraKey: (w: ObservedWindow) => string) {
  const targets = new Map(distribution.targets.map((t) => [t.deviceId, t]));
  const keyed = new Map<string, ObservedWindow[]>();
  for (const w of windows) {
    const target = targets.get(w.deviceId);
    if (target === undefined || w.windowEndMs <= distribution.startedAtMs || roleOf(target, w, distribution.startedAtMs) === undefined) continue;
    const key = JSON.stringify([target.group, w.modelId, extraKey(w)]);
    push(keyed, key, w);
  }
  return [...keyed]
    .map(([key, ws]) => {
      const [group, modelId, extra] = JSON.parse(key) as [string, string, string];
      return { group, modelId, extra, windows: ws };
    })
    .sort((a, b) => compare(a.group, b.group) || compare(a.modelId, b.modelId));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

import { describe, expect, it } from '@jest/globals';
import { compareGroups, figuresByGroup, roleOf, timeSeries, type MonitoredDistribution, type MonitoredTarget, type ObservedWindow } from './comparisons.js';

const S = 1000;
const OLD = 'adder-1.0.0';
const NEW = 'adder-2.0.0';
/** A 5-second window of `count` inferences ending at second `end`. */
const win = (deviceId: string, modelId: string, end: number, count = 100, p99 = 10): ObservedWindow => ({
  deviceId, modelId, windowStartMs: (end - 5) * S, windowEndMs: end * S, count, errors: 0,
  latencyMs: { p50: p99 / 2, p95: p99, p99 },
});
const target = (deviceId: string, group: string, swappedAt?: number, modelId = NEW): MonitoredTarget => ({
  deviceId, group, modelId, fromModelId: OLD, ...(swappedAt === undefined ? {} : { swappedAtMs: swappedAt * S }),
});
const horizon = { nowMs: 100 * S, detectionWindowMs: 60 * S, baselineWindowMs: 300 * S, minSamples: 200 };

describe('window roles', () => {
  const t = target('d1', 'canary', 50);
  it('tells the new model since the swap, the old one before it, and a device still waiting', () => {
    expect(roleOf(t, win('d1', NEW, 55), 0)).toBe('new');
    expect(roleOf(t, win('d1', OLD, 52), 0)).toBe('before-swap');
    expect(roleOf(t, win('d1', OLD, 60), 0)).toBeUndefined();
    expect(roleOf(t, win('d1', NEW, 50), 0)).toBeUndefined();
    expect(roleOf(target('d2', 'control'), win('d2', OLD, 60), 10 * S)).toBe('unswapped');
    expect(roleOf(target('d2', 'control'), win('d2', OLD, 10), 10 * S)).toBeUndefined();
  });
});

describe('comparisons', () => {
  describe('given a canary and a control group still on the old model', () => {
    const canary: MonitoredDistribution = {
      strategy: 'Canary', startedAtMs: 10 * S,
      targets: [target('c1', 'canary', 50), target('c2', 'canary', 51), target('r1', 'control'), target('r2', 'control')],
    };

    it('compares the canary on its new model with the control group over the recent horizon', () => {
      const windows = [
        win('c1', NEW, 95, 100, 30), win('c2', NEW, 95, 100, 32), win('c1', NEW, 30, 999, 1), // the last before the horizon
        win('r1', OLD, 95, 150, 20), win('r2', OLD, 95, 150, 20), win('c1', OLD, 50, 999, 5),
      ];
      const [comparison, ...rest] = compareGroups(canary, windows, horizon);
      expect(rest).toEqual([]);
      expect(comparison).toMatchObject({ group: 'canary', modelId: NEW, baselineSource: { kind: 'control' } });
      expect(comparison!.observed.samples).toBe(200);
      expect(comparison!.baseline.samples).toBe(300);
    });

    it('falls back to the canary devices before their swap while the control group has too few inferences', () => {
      const windows = [win('c1', NEW, 95), win('r1', OLD, 95, 50), win('c1', OLD, 50, 400), win('c1', OLD, 10 - 300 + 4, 400)];
      const [comparison] = compareGroups(canary, windows, horizon);
      expect(comparison!.baselineSource).toEqual({ kind: 'before-swap', modelIds: [OLD] });
      expect(comparison!.baseline.samples).toBe(400);
    });
  });

  it('compares group B of an A/B test with group A on its model, and never evaluates A', () => {
    const ab: MonitoredDistribution = {
      strategy: 'ABTesting', startedAtMs: 10 * S,
      targets: [target('a1', 'A', undefined, 'm-a'), target('b1', 'B', 20, 'm-b')],
    };
    const comparisons = compareGroups(ab, [win('a1', 'm-a', 95, 300), win('b1', 'm-b', 95, 250)], horizon);
    expect(comparisons.map((c) => [c.group, c.modelId, c.baselineSource, c.observed.samples, c.baseline.samples]))
      .toEqual([['B', 'm-b', { kind: 'group', group: 'A' }, 250, 300]]);
  });

  it('keeps group B of an A/B test on group A while A has too few inferences, never on its own past', () => {
    const ab: MonitoredDistribution = {
      strategy: 'ABTesting', startedAtMs: 10 * S,
      targets: [target('a1', 'A', 20, 'm-a'), target('b1', 'B', 20, 'm-b')],
    };
    const windows = [win('a1', 'm-a', 95, 30), win('b1', 'm-b', 95, 250), win('b1', OLD, 15, 400)];
    const [comparison] = compareGroups(ab, windows, horizon);
    expect(comparison).toMatchObject({ group: 'B', baselineSource: { kind: 'group', group: 'A' } });
    expect(comparison!.baseline.samples).toBe(30);
  });

  it('compares other strategies with the same devices before their swap, leaving out groups without new telemetry', () => {
    const regional: MonitoredDistribution = {
      strategy: 'RegionalRollout', startedAtMs: 0,
      targets: [target('e1', 'eu-central-1', 40), target('u1', 'us-east-1')],
    };
    const [comparison, ...rest] = compareGroups(regional, [win('e1', NEW, 90), win('e1', OLD, 40, 300), win('u1', OLD, 90)], horizon);
    expect(rest).toEqual([]);
    expect(comparison).toMatchObject({ group: 'eu-central-1', baselineSource: { kind: 'before-swap', modelIds: [OLD] } });
    expect(comparison!.baseline.samples).toBe(300);
  });
});

describe('figures per group and time series', () => {
  const canary: MonitoredDistribution = { strategy: 'Canary', startedAtMs: 10 * S, targets: [target('c1', 'canary', 20), target('r1', 'control')] };
  const windows = [win('c1', OLD, 20), win('c1', NEW, 25), win('c1', NEW, 30), win('r1', OLD, 25), win('r1', OLD, 5), win('x', NEW, 25)];

  it('counts every window since the start per group and serving model', () => {
    expect(figuresByGroup(canary, windows).map((g) => [g.group, g.modelId, g.devices, g.figures.samples, g.fromMs, g.toMs])).toEqual([
      ['canary', OLD, 1, 100, 15 * S, 20 * S], ['canary', NEW, 1, 200, 20 * S, 30 * S], ['control', OLD, 1, 100, 20 * S, 25 * S],
    ]);
  });

  it('puts each window in the interval of its end, oldest first', () => {
    expect(timeSeries(canary, windows, 10 * S).map((p) => [p.atMs / S, p.group, p.modelId, p.figures.samples])).toEqual([
      [10, 'canary', OLD, 100], [20, 'canary', NEW, 200], [20, 'control', OLD, 100],
    ]);
    expect(() => timeSeries(canary, windows, 0)).toThrow('intervalMs must be positive, got 0');
  });
});

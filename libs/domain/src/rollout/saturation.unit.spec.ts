import { describe, expect, it } from '@jest/globals';
import type { DistributionEvent, ExecutionPolicy } from '@hotswap/contracts';
import { foldEvents } from '../decider.js';
import { distributionDecider, type DistributionCommand } from '../distribution/decide.js';
import { InvalidCommandError } from '../errors.js';
import {
  assessSaturation, checkSaturationThresholds, cpuShareOver, DEFAULT_SATURATION_THRESHOLDS, NOT_SATURATED, trimReadings,
  type ResourceReading, type Saturation,
} from './saturation.js';

const MIB = 1024 ** 2;
const thresholds = { ...DEFAULT_SATURATION_THRESHOLDS, windowMs: 10_000 };

/** Readings every second for `seconds`, the process using `cpu` of its 2 cores and `memoryMib` of 1000 MiB. */
function readings(seconds: number, cpu: number, memoryMib = 100, from: ResourceReading = { atMs: 0, cpuMs: 0, cpuCores: 2, memoryBytes: 0, memoryLimitBytes: 1000 * MIB }): ResourceReading[] {
  return Array.from({ length: seconds }, (_, i) => ({
    atMs: from.atMs + (i + 1) * 1_000, cpuMs: from.cpuMs + (i + 1) * 1_000 * 2 * cpu, cpuCores: 2, memoryBytes: memoryMib * MIB, memoryLimitBytes: 1000 * MIB,
  }));
}

/** Assesses after each reading in turn, as the sampler does, from `start`, with `history` read before. */
function run(series: readonly ResourceReading[], start: Saturation = NOT_SATURATED, history: readonly ResourceReading[] = []): Saturation[] {
  const out: Saturation[] = [];
  let state = start;
  for (let i = 0; i < series.length; i += 1) {
    state = assessSaturation(state, [...history, ...series.slice(0, i + 1)], thresholds);
    out.push(state);
  }
  return out;
}

describe('saturation', () => {
  describe('CPU share over the window', () => {
    it('given readings spanning the window, averages the CPU time used over the cores', () => {
      expect(cpuShareOver(readings(12, 0.9), 10_000)).toBeCloseTo(0.9);
    });

    it('given readings shorter than the window, is not known yet (a start-up burst is not saturation)', () => {
      expect(cpuShareOver(readings(5, 1), 10_000)).toBeNull();
    });

    it('given a burst shorter than the window, averages it away', () => {
      const calm = readings(10, 0.2);
      const burst = readings(2, 1, 100, calm.at(-1));
      expect(cpuShareOver([...calm, ...burst], 10_000)).toBeCloseTo(0.36);
    });

    it('keeps only the readings the window still needs', () => {
      const series = readings(30, 0.5);
      const kept = trimReadings(series, 10_000);
      expect(kept.map((r) => r.atMs)).toStrictEqual(series.slice(19).map((r) => r.atMs));
      expect(cpuShareOver(kept, 10_000)).toBeCloseTo(cpuShareOver(series, 10_000) ?? Number.NaN);
    });
  });

  describe('assessing', () => {
    it('given CPU below the limit and memory below the limit, when assessed, then it is not saturated and runs at full rate', () => {
      const last = run(readings(15, 0.5, 500)).at(-1);
      expect(last).toStrictEqual({ saturated: false, throttle: 1, cpuShare: expect.closeTo(0.5) as unknown as number, memoryShare: 0.5 });
    });

    it('given CPU above 80% sustained over the window, when assessed, then it is saturated, says why, and halves the throttle each time down to the floor', () => {
      const states = run(readings(16, 0.9));
      // The first reading is at 1 s: the 10 s window is covered from the eleventh on.
      expect(states.slice(0, 10).every((s) => !s.saturated && s.throttle === 1)).toBe(true);
      expect(states.slice(10).map((s) => s.throttle)).toStrictEqual([0.5, 0.25, 0.125, 0.1, 0.1, 0.1]);
      expect(states.at(-1)).toMatchObject({ saturated: true, reason: 'CPU 90% of 2 cores over the last 10 s, above 80%' });
    });

    it('given memory above 75% of the limit, when assessed, then it is saturated at once (memory is a level, not a rate)', () => {
      const [first] = run(readings(1, 0.1, 800));
      expect(first).toStrictEqual({
        saturated: true, throttle: 0.5, reason: 'memory 80% of 1000 MiB (800 MiB), above 75%', cpuShare: null, memoryShare: 0.8,
      });
    });

    it('given both limits exceeded, names both', () => {
      expect(run(readings(11, 0.95, 900)).at(-1)?.reason).toBe('CPU 95% of 2 cores over the last 10 s, above 80%; memory 90% of 1000 MiB (900 MiB), above 75%');
    });

    it('given a saturated distributor whose CPU drops just below the limit, when assessed, then it stays saturated and keeps its throttle (hysteresis)', () => {
      const saturated: Saturation = { saturated: true, throttle: 0.25, reason: 'CPU 90% of 2 cores over the last 10 s, above 80%', cpuShare: 0.9, memoryShare: 0.1 };
      const history = readings(12, 0.75);
      const states = run(readings(20, 0.75, 100, history.at(-1)), saturated, history);
      expect(states.every((s) => s.saturated && s.throttle === 0.25 && s.reason === saturated.reason)).toBe(true);
      expect(states.at(-1)?.cpuShare).toBeCloseTo(0.75);
    });

    it('given a share hovering around the threshold, does not flap between saturated and not', () => {
      const hovering = [0.82, 0.78, 0.81, 0.79, 0.83, 0.77].flatMap((cpu) => Array.from({ length: 3 }, () => cpu));
      let state: Saturation = NOT_SATURATED;
      let series = readings(10, 0.82);
      for (const s of run(series)) state = s;
      const changes: boolean[] = [];
      for (const cpu of hovering) {
        series = [...series, ...readings(1, cpu, 100, series.at(-1))];
        state = assessSaturation(state, series, thresholds);
        if (changes.at(-1) !== state.saturated) changes.push(state.saturated);
      }
      expect(changes).toStrictEqual([true]);
    });

    it('given a saturated distributor clear of both limits by the hysteresis, when assessed, then it recovers and the throttle climbs back to 1 step by step', () => {
      const saturated: Saturation = { saturated: true, throttle: 0.1, reason: 'CPU 90%', cpuShare: 0.9, memoryShare: 0.1 };
      const states = run(readings(20, 0.5), saturated);
      // Until the window is full of calm readings the share is unknown, which counts as clear.
      expect(states.every((s) => !s.saturated && s.reason === undefined)).toBe(true);
      expect(states.slice(0, 10).map((s) => Math.round(s.throttle * 10) / 10)).toStrictEqual([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1]);
    });

    it('given memory back under the limit but not by the hysteresis, stays saturated', () => {
      const saturated: Saturation = { saturated: true, throttle: 0.5, reason: 'memory 80%', cpuShare: null, memoryShare: 0.8 };
      expect(run(readings(1, 0.1, 700), saturated)[0]).toMatchObject({ saturated: true, throttle: 0.5, memoryShare: 0.7 });
      expect(run(readings(1, 0.1, 640), saturated)[0]).toMatchObject({ saturated: false, throttle: 0.6 });
    });

    it('given no usable readings, is not saturated', () => {
      expect(assessSaturation(NOT_SATURATED, [], thresholds)).toStrictEqual(NOT_SATURATED);
      const broken = { atMs: 1, cpuMs: Number.NaN, cpuCores: 0, memoryBytes: 5, memoryLimitBytes: 0 };
      expect(assessSaturation(NOT_SATURATED, [broken, { ...broken, atMs: 20_000 }], thresholds)).toStrictEqual(NOT_SATURATED);
    });
  });

  describe('thresholds', () => {
    it('accepts the defaults', () => {
      expect(checkSaturationThresholds(DEFAULT_SATURATION_THRESHOLDS)).toBe(DEFAULT_SATURATION_THRESHOLDS);
    });

    it.each([
      [{ cpuShare: 0 }, 'saturation thresholds: cpuShare must be in (0, 1], got 0'],
      [{ memoryShare: 1.5 }, 'saturation thresholds: memoryShare must be in (0, 1], got 1.5'],
      [{ windowMs: -1 }, 'saturation thresholds: windowMs must be in (0, 9007199254740991], got -1'],
      [{ hysteresis: 1 }, 'saturation thresholds: hysteresis must be in [0, 1), got 1'],
      [{ minThrottle: Number.NaN }, 'saturation thresholds: minThrottle must be in (0, 1], got NaN'],
      [{ decrease: 1 }, 'saturation thresholds: decrease must be in (0, 1), got 1'],
      [{ increase: 0 }, 'saturation thresholds: increase must be in (0, 1], got 0'],
    ])('refuses %j, naming the field', (bad, message) => {
      expect(() => checkSaturationThresholds({ ...DEFAULT_SATURATION_THRESHOLDS, ...bad })).toThrow(new InvalidCommandError(message));
    });
  });
});

describe('throttled rollouts (AdvanceDistribution.throttle)', () => {
  const T0 = '2026-11-28T10:00:00.000Z';
  const policy: ExecutionPolicy = {
    maxInFlight: 8, ratePerMinute: 0, rampFactor: 1, initialRatePerMinute: 1, deviceTimeoutMs: 600_000, maxRetries: 0,
    retryBackoffMs: 1_000, healthWindowMs: 600_000, minHealthSamples: 0, maxFailurePercentage: 0,
  };
  const fleet = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`d${i}`, {
    status: 'Online' as const, region: 'eu', capabilities: { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 4096 },
  }]));

  function distribution(execution: ExecutionPolicy, targets = 20) {
    const events: DistributionEvent[] = [];
    const decide = (command: Omit<DistributionCommand, 'metadata'>) => {
      const decided = distributionDecider.decide({ ...command, metadata: { now: T0 } } as DistributionCommand, foldEvents(distributionDecider, events));
      events.push(...decided);
      return decided;
    };
    decide({
      type: 'CreateDistribution',
      data: {
        distributionId: 'dist-t', rollbackPolicy: 'Automatic',
        plan: { strategy: 'Direct', modelId: 'm-2.0.0', targets: Object.keys(fleet).slice(0, targets), fleet, knownRegions: ['eu'], protectedTags: [], execution },
      },
    });
    return (throttle?: number) => decide({ type: 'AdvanceDistribution', data: { distributionId: 'dist-t', ...(throttle !== undefined ? { throttle } : {}) } })
      .filter((e) => e.type === 'TargetUpdateRequested').length;
  }

  it('given a throttle below 1, when advanced, then fewer devices are commanded: maxInFlight is scaled', () => {
    expect(distribution(policy)()).toBe(8);
    expect(distribution(policy)(0.25)).toBe(2);
  });

  it('given a throttle, scales the per-decision cap too, and never stops the rollout entirely', () => {
    const advance = distribution({ ...policy, maxInFlight: 10_000 }, 600);
    expect(advance(0.1)).toBe(50);
    expect(distribution(policy)(0.01)).toBe(1);
  });

  it('given the throttle lifted, when advanced, then the rest of the allowance is used again', () => {
    const advance = distribution(policy);
    expect([advance(0.25), advance(0.25), advance(1)]).toStrictEqual([2, 0, 6]);
  });

  it.each([0, 1.5, Number.NaN, '0.5'])('refuses a throttle of %p, naming it', (throttle) => {
    const advance = distribution(policy);
    expect(() => advance(throttle as number)).toThrow(new InvalidCommandError(`distribution dist-t: throttle must be a number in (0, 1], got ${typeof throttle === 'string' ? JSON.stringify(throttle) : String(throttle)}`));
  });
});

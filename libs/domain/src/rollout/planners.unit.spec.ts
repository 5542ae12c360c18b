import { describe, expect, it } from '@jest/globals';
import type { ExecutionPolicy } from '@hotswap/contracts';
import { InvalidCommandError } from '../errors.js';
import { insideMaintenanceWindow, planDistribution, requestAllowance, toExecutionPolicy, unmetRequirement } from './plan-distribution.js';
import { shareOf, type FleetSnapshot, type PlanRequest } from './planner.js';

const policy: ExecutionPolicy = {
  maxInFlight: 100, ratePerMinute: 0, rampFactor: 1, initialRatePerMinute: 1, deviceTimeoutMs: 60_000, maxRetries: 2,
  retryBackoffMs: 1000, healthWindowMs: 0, minHealthSamples: 0, maxFailurePercentage: 0,
};
const caps = { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 4096 };
const fleet: FleetSnapshot = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`d${i}`, {
  status: 'Online' as const, currentModelId: 'det-1.0.0', region: i < 4 ? 'eu-west-1' : i < 8 ? 'us-east-1' : 'ap-south-1',
  capabilities: i === 9 ? { ...caps, gpu: true, memoryMb: 8192 } : caps, tags: i === 7 ? ['production'] : [],
}]));
const targets = Object.keys(fleet);
const request = (fields: Partial<PlanRequest>): PlanRequest => ({
  strategy: 'Direct', modelId: 'det-2.0.0', targets, fleet, knownRegions: ['eu-west-1', 'us-east-1', 'ap-south-1'], protectedTags: [],
  execution: policy, ...fields,
});
const wavesOf = (fields: Partial<PlanRequest>) => planDistribution(request(fields)).waves.map((w) => ({ name: w.name, ids: w.deviceIds, observeMs: w.observeMs, approval: w.approval }));

/** The message of the PlanError the request causes. */
function refusal(fields: Partial<PlanRequest>): string {
  try {
    planDistribution(request(fields));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCommandError);
    return (error as Error).message;
  }
  throw new Error('the plan was accepted');
}

describe('rollout planners', () => {
  describe('Direct', () => {
    it('puts every target into one wave', () => {
      expect(wavesOf({})).toStrictEqual([{ name: 'all', ids: targets, observeMs: 0, approval: undefined }]);
    });
  });

  describe('RegionalRollout', () => {
    it('runs region by region in the order given, observing between regions but not after the last', () => {
      expect(wavesOf({ strategy: 'RegionalRollout', regions: ['us-east-1', 'eu-west-1'], delayBetweenRegions: 'PT10M' })).toStrictEqual([
        { name: 'us-east-1', ids: ['d4', 'd5', 'd6', 'd7'], observeMs: 600_000, approval: undefined },
        { name: 'eu-west-1', ids: ['d0', 'd1', 'd2', 'd3'], observeMs: 0, approval: undefined },
      ]);
    });

    it('names an unknown region and a duration that is not ISO 8601', () => {
      expect(refusal({ strategy: 'RegionalRollout', regions: ['eu-west-1', 'mars-1'], delayBetweenRegions: 'PT1M' }))
        .toBe('regions[1] names an unknown region "mars-1" (known: ap-south-1, eu-west-1, us-east-1)');
      expect(refusal({ strategy: 'RegionalRollout', regions: ['eu-west-1'], delayBetweenRegions: '10 minutes' }))
        .toMatch(/^delayBetweenRegions must be an ISO 8601 duration/);
      expect(refusal({ strategy: 'RegionalRollout', regions: [], delayBetweenRegions: 'PT1M' })).toBe('regions must list at least one region');
      expect(refusal({ strategy: 'RegionalRollout', regions: ['eu-west-1', 'eu-west-1'], delayBetweenRegions: 'PT1M' })).toContain('regions[1] repeats');
    });
  });

  describe('Canary', () => {
    it('takes canaryPercentage of the targets first, observed for canaryDuration, then the rest', () => {
      expect(wavesOf({ strategy: 'Canary', canaryPercentage: 20, canaryDuration: 'PT30S' })).toStrictEqual([
        { name: 'canary', ids: ['d0', 'd1'], observeMs: 30_000, approval: undefined },
        { name: 'rest', ids: targets.slice(2), observeMs: 0, approval: undefined },
      ]);
    });

    it('keeps at least one device in the canary and one in the control group', () => {
      expect(wavesOf({ strategy: 'Canary', canaryPercentage: 1, canaryDuration: 'PT1S' })[0].ids).toStrictEqual(['d0']);
      expect(wavesOf({ strategy: 'Canary', canaryPercentage: 99.9, canaryDuration: 'PT1S' })[1].ids).toStrictEqual(['d9']);
    });

    it('refuses a percentage of 100 or more, and a missing duration', () => {
      expect(refusal({ strategy: 'Canary', canaryPercentage: 150, canaryDuration: 'PT1M' })).toBe('canaryPercentage must be above 0 and below 100, got 150');
      expect(refusal({ strategy: 'Canary', canaryPercentage: 10 })).toBe('canaryDuration is required and must be an ISO 8601 duration such as PT15M, got nothing');
      expect(refusal({ strategy: 'Canary', canaryPercentage: 10, canaryDuration: 'PT1M', targets: ['d0'] })).toContain('needs at least 2 targets');
    });
  });

  describe('ProgressiveRollout', () => {
    it('splits cumulative stages and waits for approval between them when autoProgress is false', () => {
      expect(wavesOf({
        strategy: 'ProgressiveRollout', autoProgress: false,
        stages: [{ percentage: 10, duration: 'PT1M' }, { percentage: 50, duration: 'PT2M' }, { percentage: 100, duration: 'PT5M' }],
      })).toStrictEqual([
        { name: 'stage-1', ids: ['d0'], observeMs: 60_000, approval: undefined },
        { name: 'stage-2', ids: ['d1', 'd2', 'd3', 'd4'], observeMs: 120_000, approval: 'stage' },
        { name: 'stage-3', ids: ['d5', 'd6', 'd7', 'd8', 'd9'], observeMs: 0, approval: 'stage' },
      ]);
    });

    it('refuses stages that do not increase, go above 100 or stop short of 100', () => {
      expect(refusal({ strategy: 'ProgressiveRollout', stages: [{ percentage: 50, duration: 'PT1M' }, { percentage: 40, duration: 'PT1M' }] }))
        .toBe("stages[1].percentage must be greater than the previous stage's 50 (stages are cumulative and increasing), got 40");
      expect(refusal({ strategy: 'ProgressiveRollout', stages: [{ percentage: 101, duration: 'PT1M' }] })).toBe('stages[0].percentage must be above 0 and at most 100, got 101');
      expect(refusal({ strategy: 'ProgressiveRollout', stages: [{ percentage: 50, duration: 'PT1M' }] })).toBe('stages[0].percentage must be 100: the last stage reaches every target, got 50');
      expect(refusal({ strategy: 'ProgressiveRollout', stages: [{ percentage: 100, duration: 'soon' }] })).toMatch(/^stages\[0\]\.duration must be an ISO 8601 duration/);
    });
  });

  describe('ABTesting', () => {
    it('gives group A modelA and group B modelB, observes B for the test, and records how the winner is chosen', () => {
      const plan = planDistribution(request({
        strategy: 'ABTesting', modelId: undefined, modelA: 'det-1.0.0', modelB: 'det-2.0.0', splitPercentage: 30, testDuration: 'PT1H',
        winnerCriteria: { metric: 'accuracy', rolloutWinner: true },
      }));
      expect(plan.modelId).toBe('det-2.0.0');
      expect(plan.waves.map((w) => [w.name, w.modelId, w.deviceIds.length, w.observeMs])).toStrictEqual([
        ['A', 'det-1.0.0', 7, 0], ['B', 'det-2.0.0', 3, 3_600_000],
      ]);
      expect(plan.abTest).toStrictEqual({
        modelA: 'det-1.0.0', modelB: 'det-2.0.0', metric: 'accuracy', testDurationMs: 3_600_000, minSamples: 1000, significanceLevel: 0.05, rolloutWinner: true,
      });
    });

    it('names what is missing or contradictory', () => {
      const ab = { strategy: 'ABTesting' as const, modelId: undefined, modelA: 'a-1.0.0', modelB: 'b-1.0.0', testDuration: 'PT1M', winnerCriteria: { metric: 'latency' as const } };
      expect(refusal({ ...ab, modelA: undefined })).toBe('modelA is required: the model of group A');
      expect(refusal({ ...ab, modelB: 'a-1.0.0' })).toBe('modelB must differ from modelA (a-1.0.0)');
      expect(refusal({ ...ab, modelId: 'c-1.0.0' })).toContain('modelId must be modelB');
      expect(refusal({ ...ab, winnerCriteria: undefined })).toContain('winnerCriteria is required');
      expect(refusal({ ...ab, winnerCriteria: { metric: 'vibes' as never } })).toBe('winnerCriteria.metric must be one of accuracy, latency, errorRate, got "vibes"');
    });
  });

  describe('targets', () => {
    it('excludes devices that cannot run the model and says why', () => {
      const plan = planDistribution(request({ requirements: { gpu: true, memoryMb: 4096 } }));
      expect(plan.waves[0].deviceIds).toStrictEqual(['d9']);
      expect(plan.excluded).toHaveLength(9);
      expect(plan.excluded[0]).toStrictEqual({ deviceId: 'd0', reason: 'the model needs a GPU and the device has none' });
      expect(unmetRequirement(fleet.d9, { memoryMb: 16_384 })).toBe('the model needs 16384 MB of memory and the device has 8192');
      expect(unmetRequirement({ status: 'Online' }, { cpuCores: 1 })).toBe('its capabilities are unknown');
    });

    it('refuses a plan that leaves no device, naming the first reasons', () => {
      expect(refusal({ requirements: { cpuCores: 64 } })).toMatch(/^targets leave no device that can run det-2.0.0: d0 \(the model needs 64 CPU cores/);
    });

    it('puts waves holding protected targets behind an approval', () => {
      const waves = wavesOf({ strategy: 'RegionalRollout', regions: ['eu-west-1', 'us-east-1'], delayBetweenRegions: 'PT1M', protectedTags: ['production'] });
      expect(waves.map((w) => w.approval)).toStrictEqual([undefined, 'protected-targets']);
    });

    it('refuses repeated targets and an unknown strategy', () => {
      expect(refusal({ targets: ['d0', 'd0'] })).toContain('target device d0 is listed more than once');
      expect(refusal({ strategy: 'YOLO' as never })).toContain('strategy must be one of');
      expect(refusal({ successCriteria: { maxErrorRate: 2 } })).toBe('successCriteria.maxErrorRate must be a number from 0 to 1, got 2');
      expect(refusal({ startAt: 'tomorrow' })).toBe('schedule.startAt must be an ISO 8601 instant, got "tomorrow"');
    });
  });

  describe('maintenance windows', () => {
    const windows = [{ regions: ['eu-west-1'], start: '22:00', end: '04:00' }];

    it('allows devices of a region only inside its windows, which may wrap midnight', () => {
      expect(insideMaintenanceWindow(windows, 'eu-west-1', '2026-11-28T23:30:00.000Z')).toBe(true);
      expect(insideMaintenanceWindow(windows, 'eu-west-1', '2026-11-28T03:59:00.000Z')).toBe(true);
      expect(insideMaintenanceWindow(windows, 'eu-west-1', '2026-11-28T12:00:00.000Z')).toBe(false);
      expect(insideMaintenanceWindow(windows, 'us-east-1', '2026-11-28T12:00:00.000Z')).toBe(true);
      expect(insideMaintenanceWindow([{ regions: ['eu-west-1'], start: '09:00', end: '17:00' }], 'eu-west-1', '2026-11-28T17:00:00.000Z')).toBe(false);
    });

    it('refuses a window with a bad time or an unknown region', () => {
      expect(refusal({ maintenanceWindows: [{ regions: ['eu-west-1'], start: '25:00', end: '04:00' }] })).toBe('maintenanceWindows[0].start must be a UTC time of day HH:MM, got "25:00"');
      expect(refusal({ maintenanceWindows: [{ regions: ['moon'], start: '01:00', end: '04:00' }] })).toBe('maintenanceWindows[0].regions[0] names an unknown region "moon"');
    });
  });

  describe('execution policy', () => {
    it('fills the defaults and parses durations, naming a bad field', () => {
      expect(toExecutionPolicy({ maxInFlight: 5, healthWindow: 'PT30S', ratePerMinute: 600 }, policy)).toStrictEqual({
        ...policy, maxInFlight: 5, healthWindowMs: 30_000, ratePerMinute: 600, initialRatePerMinute: 600,
      });
      expect(() => toExecutionPolicy({ deviceTimeout: 'forever' }, policy)).toThrow(/^execution\.deviceTimeout must be an ISO 8601 duration/);
      expect(() => toExecutionPolicy({ maxInFlight: 0 }, policy)).toThrow('execution.maxInFlight must be an integer from 1 to 100000, got 0');
    });

    it('paces requests per minute with an exponential ramp up to the ceiling', () => {
      const ramp = { ...policy, ratePerMinute: 1000, initialRatePerMinute: 100, rampFactor: 2 };
      expect(requestAllowance(ramp, 0)).toBe(100);
      expect(requestAllowance(ramp, 60_000)).toBe(300);
      expect(requestAllowance(ramp, 4 * 60_000)).toBe(100 + 200 + 400 + 800 + 1000);
      expect(requestAllowance(ramp, 6 * 60_000)).toBe(100 + 200 + 400 + 800 + 3000);
      expect(requestAllowance({ ...policy, ratePerMinute: 0 }, 0)).toBe(Number.POSITIVE_INFINITY);
    });

    it('rounds shares up, keeping at least one device', () => {
      expect(shareOf(30, 10)).toBe(3);
      expect(shareOf(7, 1)).toBe(1);
      expect(shareOf(7, 0)).toBe(0);
    });
  });
});

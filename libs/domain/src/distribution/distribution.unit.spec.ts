import { describe, expect, it } from '@jest/globals';
import type { AbTestResultView, DistributionEvent, ExecutionPolicy } from '@hotswap/contracts';
import { foldEvents } from '../decider.js';
import { AlreadyExistsError, IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import type { FleetSnapshot, PlanRequest } from '../rollout/planner.js';
import { addMs } from '../time.js';
import { DeciderSpecification } from '../testing/decider-spec.js';
import {
  advanceInputs, distributionDecider, MAX_REQUESTS_PER_DECISION, type DistributionCommand, type TargetHealth,
} from './decide.js';
import { distributionProgress, distributionTargets, distributionWaves, type DistributionState, type ExistingDistribution } from './distribution.js';

const T0 = '2026-11-28T10:00:00.000Z';
const id = 'dist-1';
const policy: ExecutionPolicy = {
  maxInFlight: 100, ratePerMinute: 0, rampFactor: 1, initialRatePerMinute: 1, deviceTimeoutMs: 60_000, maxRetries: 1,
  retryBackoffMs: 1_000, healthWindowMs: 10_000, minHealthSamples: 5, maxFailurePercentage: 0,
};
const fleetOf = (n: number, extra: (i: number) => object = () => ({})): FleetSnapshot => Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}`, {
  status: 'Online' as const, currentModelId: 'det-1.0.0', region: i % 2 === 0 ? 'eu' : 'us',
  capabilities: { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 4096 }, ...extra(i),
}]));
const healthy: TargetHealth = { samples: 50, errors: 0, latencyP99Ms: 12, accuracy: null, labelled: 0 };
const slow: TargetHealth = { samples: 50, errors: 0, latencyP99Ms: 80, accuracy: null, labelled: 0 };

/** A distribution driven through the decider as the distributor would drive it, step by step. */
class Run {
  readonly events: DistributionEvent[] = [];
  constructor(private now = T0) {}
  get state(): ExistingDistribution {
    return foldEvents(distributionDecider, this.events) as ExistingDistribution;
  }
  at(offsetMs: number): this {
    this.now = addMs(T0, offsetMs);
    return this;
  }
  decide(command: Omit<DistributionCommand, 'metadata'>): DistributionEvent[] {
    const decided = distributionDecider.decide({ ...command, metadata: { now: this.now } } as DistributionCommand, this.state);
    this.events.push(...decided);
    return decided;
  }
  create(fields: Partial<PlanRequest> = {}, rollbackPolicy: 'Automatic' | 'Freeze' | 'Manual' = 'Automatic', n = 4): DistributionEvent[] {
    const fleet = fleetOf(n);
    return this.decide({
      type: 'CreateDistribution',
      data: {
        distributionId: id, rollbackPolicy,
        plan: {
          strategy: 'Direct', modelId: 'det-2.0.0', targets: Object.keys(fleet), fleet, knownRegions: ['eu', 'us'], protectedTags: [],
          successCriteria: { maxLatencyMs: 50, maxErrorRate: 0.05 }, execution: policy, ...fields,
        },
      },
    });
  }
  advance(health?: Record<string, TargetHealth>, abResult?: AbTestResultView): DistributionEvent[] {
    return this.decide({ type: 'AdvanceDistribution', data: { distributionId: id, ...(health ? { health } : {}), ...(abResult ? { abResult } : {}) } });
  }
  report(deviceId: string, outcome: 'swapped' | 'failed' = 'swapped', commandId = this.commandOf(deviceId)): DistributionEvent[] {
    return this.decide({
      type: 'RecordTargetResult',
      data: { distributionId: id, deviceId, commandId, outcome, ...(outcome === 'swapped' ? { swapMs: 30 } : { reason: 'checksum mismatch' }) },
    });
  }
  /** Every requested device reports swapped. */
  swapAll(): void {
    for (const t of distributionTargets(this.state)) if (t.status === 'Requested' || t.status === 'RollingBack') this.report(t.deviceId);
  }
  control(verb: 'pause' | 'resume' | 'approve' | 'cancel' | 'rollback' | 'promote', by = 'olga'): DistributionEvent[] {
    return this.decide({ type: 'ControlDistribution', data: { distributionId: id, verb, by } });
  }
  commandOf(deviceId: string): string {
    return distributionTargets(this.state).find((t) => t.deviceId === deviceId)?.commandId ?? 'none';
  }
  statuses(): Record<string, string> {
    return Object.fromEntries(distributionTargets(this.state).map((t) => [t.deviceId, t.status]));
  }
}
const types = (events: readonly DistributionEvent[]) => events.map((e) => e.type);
const healthFor = (run: Run, h: TargetHealth) => Object.fromEntries(advanceInputs(run.state, addMs(T0, 3_600_000)).health.map((x) => [x.deviceId, h]));

describe('distribution decider', () => {
  describe('creating', () => {
    it('records the plan and starts at once when no startAt is given', () => {
      const run = new Run();
      const [created, started] = run.create();
      expect(types([created, started])).toStrictEqual(['DistributionCreated', 'DistributionStarted']);
      expect(created).toMatchObject({
        data: {
          targets: ['d0', 'd1', 'd2', 'd3'], waves: [{ name: 'all', size: 4, modelId: 'det-2.0.0' }],
          snapshot: { modelIds: ['det-1.0.0'], regions: ['eu', 'us'], model: [0, 0, 0, 0], region: [0, 1, 0, 1] }, createdAt: T0,
        },
      });
      expect(run.state.status).toBe('Running');
    });

    it('stays Scheduled until startAt, then starts', () => {
      const run = new Run();
      expect(types(run.create({ startAt: addMs(T0, 60_000) }))).toStrictEqual(['DistributionCreated']);
      expect(run.state.status).toBe('Scheduled');
      expect(run.at(59_000).advance()).toStrictEqual([]);
      expect(types(run.at(60_000).advance()).slice(0, 3)).toStrictEqual(['DistributionStarted', 'WaveStarted', 'TargetUpdateRequested']);
    });

    it('refuses a second creation and a bad plan with the field named', () => {
      const run = new Run();
      run.create();
      expect(() => run.create()).toThrow(AlreadyExistsError);
      expect(() => new Run().create({ strategy: 'Canary', canaryPercentage: 150, canaryDuration: 'PT1M' })).toThrow('canaryPercentage must be above 0 and below 100, got 150');
      expect(() => new Run().create({}, 'Sometimes' as never)).toThrow('rollbackPolicy must be one of Automatic, Freeze, Manual');
    });

    it('refuses commands for a distribution that does not exist', () => {
      DeciderSpecification.for(distributionDecider).given([])
        .when({ type: 'AdvanceDistribution', data: { distributionId: id }, metadata: { now: T0 } })
        .thenThrows(NotFoundError, 'distribution dist-1 does not exist');
    });
  });

  describe('commanding devices', () => {
    it('requests the first wave with deterministic command ids and what each device ran before', () => {
      const run = new Run();
      run.create();
      const events = run.advance();
      expect(types(events)).toStrictEqual(['WaveStarted', ...Array(4).fill('TargetUpdateRequested')]);
      expect(events[1]).toStrictEqual({
        type: 'TargetUpdateRequested',
        data: { distributionId: id, deviceId: 'd0', commandId: 'dist-1/0/1', wave: 1, modelId: 'det-2.0.0', attempt: 1, fromModelId: 'det-1.0.0', at: T0 },
      });
      expect(run.advance()).toStrictEqual([]);
    });

    it('keeps at most maxInFlight devices between command and verification', () => {
      const run = new Run();
      run.create({ execution: { ...policy, maxInFlight: 2 } });
      expect(types(run.advance()).filter((t) => t === 'TargetUpdateRequested')).toHaveLength(2);
      run.report('d0');
      expect(run.advance()).toStrictEqual([]); // d0 is still in its health window
      run.at(10_000).advance({ d0: healthy });
      expect(run.statuses()).toMatchObject({ d0: 'Updated', d1: 'Requested', d2: 'Requested', d3: 'Pending' });
    });

    it('paces requests by the rate limit and its ramp', () => {
      const run = new Run();
      run.create({ execution: { ...policy, ratePerMinute: 4, initialRatePerMinute: 2, rampFactor: 2, healthWindowMs: 0 } }, 'Automatic', 10);
      const requested = () => run.events.filter((e) => e.type === 'TargetUpdateRequested').length;
      run.advance();
      expect(requested()).toBe(2);
      run.at(30_000).advance();
      expect(requested()).toBe(2);
      run.at(60_000).advance();
      expect(requested()).toBe(6);
      run.at(120_000).advance();
      expect(requested()).toBe(10);
    });

    it('commands devices only inside their region maintenance window', () => {
      const run = new Run('2026-11-28T12:00:00.000Z');
      run.create({ maintenanceWindows: [{ regions: ['us'], start: '22:00', end: '02:00' }] });
      run.advance();
      expect(run.statuses()).toStrictEqual({ d0: 'Requested', d1: 'Pending', d2: 'Requested', d3: 'Pending' });
    });

    it('commands at most MAX_REQUESTS_PER_DECISION devices per decision', () => {
      const run = new Run();
      run.create({ execution: { ...policy, maxInFlight: 10_000 } }, 'Automatic', MAX_REQUESTS_PER_DECISION + 20);
      expect(run.advance().filter((e) => e.type === 'TargetUpdateRequested')).toHaveLength(MAX_REQUESTS_PER_DECISION);
      expect(run.advance().filter((e) => e.type === 'TargetUpdateRequested')).toHaveLength(20);
    });
  });

  describe('device results', () => {
    it('starts the health window on a swap and ignores stale or repeated reports', () => {
      const run = new Run();
      run.create();
      run.advance();
      expect(types(run.report('d0'))).toStrictEqual(['TargetSwapped']);
      expect(run.report('d0')).toStrictEqual([]);
      expect(run.report('d1', 'swapped', 'dist-1/1/7')).toStrictEqual([]);
      expect(() => run.report('stranger', 'swapped', 'x')).toThrow('the device is not a target');
    });

    it('counts a swap as the verification when there is no health window', () => {
      const run = new Run();
      run.create({ execution: { ...policy, healthWindowMs: 0 } });
      run.advance();
      expect(types(run.report('d0'))).toStrictEqual(['TargetSwapped', 'TargetUpdateSucceeded']);
    });

    it('retries a failed device after an exponential backoff, then gives up', () => {
      const run = new Run();
      run.create({ execution: { ...policy, maxRetries: 1 } });
      run.advance();
      const [failed] = run.report('d0', 'failed');
      expect(failed).toMatchObject({ type: 'TargetUpdateFailed', data: { attempt: 1, reason: 'checksum mismatch', retryAt: addMs(T0, 1_000) } });
      expect(run.at(500).advance()).toStrictEqual([]);
      expect(run.at(1_000).advance()).toMatchObject([{ type: 'TargetUpdateRequested', data: { deviceId: 'd0', attempt: 2, commandId: 'dist-1/0/2' } }]);
      expect(run.report('d0', 'failed')[0]).toMatchObject({ data: { attempt: 2 } });
      expect(run.statuses().d0).toBe('Failed');
    });

    it('fails a device that does not report within the device timeout', () => {
      const run = new Run();
      run.create({ execution: { ...policy, maxRetries: 0 } });
      run.advance();
      const events = run.at(60_000).advance();
      expect(events[0]).toMatchObject({ type: 'TargetUpdateFailed', data: { deviceId: 'd0', reason: 'no report within 60000 ms of the command' } });
      expect(events.at(-1)).toMatchObject({ type: 'DistributionFailed', data: { failed: 4, updated: 0 } });
    });
  });

  describe('verified success', () => {
    it('counts a device as updated only after its health window passes within the criteria', () => {
      const run = new Run();
      run.create();
      run.advance();
      run.swapAll();
      expect(advanceInputs(run.state, addMs(T0, 9_999)).health).toStrictEqual([]);
      expect(advanceInputs(run.state, addMs(T0, 10_000)).health).toHaveLength(4);
      const events = run.at(10_000).advance(healthFor(run, healthy));
      expect(types(events)).toStrictEqual([...Array(4).fill('TargetUpdateSucceeded'), 'WaveCompleted', 'DistributionSucceeded']);
      expect(events[0]).toMatchObject({ data: { health: { samples: 50, errorRate: 0, latencyP99Ms: 12 } } });
      expect(distributionProgress(run.state)).toStrictEqual({ total: 4, updated: 4, failed: 0, pending: 0, rolledBack: 0 });
    });

    it('waits for enough inferences, then fails an unverifiable device', () => {
      const run = new Run();
      run.create();
      run.advance();
      run.swapAll();
      const few = { ...healthy, samples: 2 };
      expect(run.at(10_000).advance({ d0: few })).toStrictEqual([]);
      const events = run.at(70_000).advance({ d0: few });
      expect(events[0]).toMatchObject({ type: 'TargetUpdateFailed', data: { deviceId: 'd0', reason: 'not verified: 2 inferences reported after the swap, 5 needed' } });
      expect(events[0].data).not.toHaveProperty('retryAt');
    });

    it('rolls back by itself when a device breaks the latency criterion (Automatic)', () => {
      const run = new Run();
      run.create();
      run.advance();
      run.swapAll();
      const events = run.at(10_000).advance({ d0: slow, d1: healthy, d2: healthy, d3: healthy });
      expect(types(events)).toStrictEqual([
        'TargetUpdateFailed', 'TargetUpdateSucceeded', 'TargetUpdateSucceeded', 'TargetUpdateSucceeded',
        'DegradationDetected', 'RollbackStarted', ...Array(4).fill('TargetRollbackRequested'),
      ]);
      expect(events[4]).toMatchObject({ data: { trigger: 'health', detail: 'device d0: health window failed: p99 latency 80 ms above maxLatencyMs 50 (50 inferences)' } });
      expect(events[6]).toMatchObject({ data: { deviceId: 'd0', toModelId: 'det-1.0.0', commandId: 'dist-1/0/rollback' } });
      run.swapAll();
      expect(types(run.advance())).toStrictEqual(['DistributionRolledBack']);
      expect(run.state.status).toBe('RolledBack');
      expect(distributionProgress(run.state).rolledBack).toBe(4);
    });

    it('pauses without rolling back under Freeze, and only records under Manual', () => {
      const frozen = new Run();
      frozen.create({}, 'Freeze');
      frozen.advance();
      frozen.swapAll();
      expect(types(frozen.at(10_000).advance({ d0: slow })).slice(-2)).toStrictEqual(['DegradationDetected', 'DistributionPaused']);
      expect(frozen.state.status).toBe('Paused');
      const manual = new Run();
      manual.create({ execution: { ...policy, maxFailurePercentage: 50 } }, 'Manual');
      manual.advance();
      manual.swapAll();
      expect(types(manual.at(10_000).advance({ d0: slow })).at(-1)).toBe('DegradationDetected');
      expect(manual.state.status).toBe('Running');
    });
  });

  describe('waves', () => {
    it('runs a canary, observes it, then the rest', () => {
      const run = new Run();
      run.create({ strategy: 'Canary', canaryPercentage: 25, canaryDuration: 'PT1M' });
      run.advance();
      expect(run.statuses()).toStrictEqual({ d0: 'Requested', d1: 'Pending', d2: 'Pending', d3: 'Pending' });
      run.swapAll();
      expect(types(run.at(10_000).advance(healthFor(run, healthy)))).toStrictEqual(['TargetUpdateSucceeded', 'WaveCompleted']);
      expect(distributionWaves(run.state)[0]).toMatchObject({ name: 'canary', status: 'Observing', updated: 1 });
      expect(run.at(69_999).advance()).toStrictEqual([]);
      expect(types(run.at(70_000).advance())).toStrictEqual(['WaveStarted', ...Array(3).fill('TargetUpdateRequested')]);
      run.swapAll();
      expect(types(run.at(80_000).advance(healthFor(run, healthy))).slice(-2)).toStrictEqual(['WaveCompleted', 'DistributionSucceeded']);
    });

    it('fails at once when failures pass maxFailurePercentage, naming the devices', () => {
      const run = new Run();
      run.create({ execution: { ...policy, maxRetries: 0, maxFailurePercentage: 25 } });
      run.advance();
      run.report('d0', 'failed');
      expect(run.advance()).toStrictEqual([]);
      run.report('d1', 'failed');
      const events = run.advance();
      expect(events).toMatchObject([{
        type: 'DistributionFailed',
        data: { failed: 2, reason: '2 of 4 targets failed to update, above maxFailurePercentage 25%: d0 (checksum mismatch), d1 (checksum mismatch)' },
      }]);
    });

    it('waits for approval between progressive stages and records the approver', () => {
      const run = new Run();
      run.create({ strategy: 'ProgressiveRollout', autoProgress: false, stages: [{ percentage: 50, duration: 'PT1M' }, { percentage: 100, duration: 'PT1M' }] });
      run.advance();
      run.swapAll();
      run.at(10_000).advance(healthFor(run, healthy));
      expect(types(run.at(70_000).advance())).toStrictEqual(['ApprovalRequested']);
      expect(run.state.status).toBe('PendingApproval');
      expect(run.at(80_000).advance()).toStrictEqual([]);
      expect(run.control('approve')).toMatchObject([{ type: 'DistributionApproved', data: { wave: 2, by: 'olga' } }]);
      expect(types(run.advance())).toStrictEqual(['WaveStarted', 'TargetUpdateRequested', 'TargetUpdateRequested']);
      expect(run.state.history.map((h) => h.action)).toContain('approved');
    });

    it('goes region by region', () => {
      const run = new Run();
      run.create({ strategy: 'RegionalRollout', regions: ['us', 'eu'], delayBetweenRegions: 'PT30S' });
      run.advance();
      expect(run.statuses()).toStrictEqual({ d0: 'Pending', d1: 'Requested', d2: 'Pending', d3: 'Requested' });
      run.swapAll();
      run.at(10_000).advance(healthFor(run, healthy));
      expect(types(run.at(40_000).advance())).toStrictEqual(['WaveStarted', 'TargetUpdateRequested', 'TargetUpdateRequested']);
      expect(run.statuses()).toMatchObject({ d0: 'Requested', d2: 'Requested' });
    });
  });

  describe('A/B test', () => {
    const ab = { strategy: 'ABTesting' as const, modelId: undefined, modelA: 'det-1.0.0', modelB: 'det-2.0.0', testDuration: 'PT10M', winnerCriteria: { metric: 'accuracy' as const, rolloutWinner: true } };
    const bWins: AbTestResultView = { metric: 'accuracy', winner: 'B', pValue: 0.001, samplesA: 5000, samplesB: 5000, valueA: 0.81, valueB: 0.9, detail: 'B is more accurate' };

    it('runs both groups for the test, asks for the result, then rolls the winner out to the other group', () => {
      const run = new Run();
      run.create(ab);
      run.advance();
      run.swapAll();
      run.at(10_000).advance(healthFor(run, healthy)); // group A verified, group B starts
      run.swapAll();
      run.at(20_000).advance(healthFor(run, healthy));
      expect(distributionWaves(run.state).map((w) => w.status)).toStrictEqual(['Done', 'Observing']);
      expect(advanceInputs(run.state, addMs(T0, 620_000)).abResult).toBe(true);
      expect(run.at(620_000).advance()).toStrictEqual([]);
      const events = run.at(620_000).advance(undefined, bWins);
      expect(types(events)).toStrictEqual(['AbTestConcluded', 'WaveStarted', 'TargetUpdateRequested', 'TargetUpdateRequested']);
      expect(events[2]).toMatchObject({ data: { deviceId: 'd0', modelId: 'det-2.0.0', wave: 3, fromModelId: 'det-1.0.0' } });
      expect(run.state.abResult?.winner).toBe('B');
    });

    it('finishes without a rollout when the test is inconclusive', () => {
      const run = new Run();
      run.create(ab);
      run.advance();
      run.swapAll();
      run.at(10_000).advance(healthFor(run, healthy));
      run.swapAll();
      run.at(20_000).advance(healthFor(run, healthy));
      const events = run.at(620_000).advance(undefined, { ...bWins, winner: null, pValue: 0.4, detail: 'no significant difference' });
      expect(types(events)).toStrictEqual(['AbTestConcluded', 'DistributionSucceeded']);
    });
  });

  describe('operator verbs', () => {
    it('pauses (no new commands), resumes and cancels', () => {
      const run = new Run();
      run.create({ execution: { ...policy, maxInFlight: 1 } });
      run.control('pause');
      expect(run.state.status).toBe('Paused');
      expect(run.control('pause')).toStrictEqual([]);
      expect(run.advance()).toStrictEqual([]);
      run.control('resume');
      expect(run.state.status).toBe('Running');
      expect(types(run.advance())).toStrictEqual(['WaveStarted', 'TargetUpdateRequested']);
      run.control('cancel');
      expect(run.state.status).toBe('Cancelled');
      expect(run.advance()).toStrictEqual([]);
      expect(() => run.control('resume')).toThrow(IllegalStateError);
    });

    it('refuses to approve when nothing waits, and to promote a wave that is still running', () => {
      const run = new Run();
      run.create();
      run.advance();
      expect(() => run.control('approve')).toThrow('no wave is waiting for approval');
      expect(() => run.control('promote')).toThrow('no wave is being observed');
    });

    it('promotes a canary: its observation ends now', () => {
      const run = new Run();
      run.create({ strategy: 'Canary', canaryPercentage: 25, canaryDuration: 'PT1H' });
      run.advance();
      run.swapAll();
      run.at(10_000).advance(healthFor(run, healthy));
      expect(run.control('promote')).toMatchObject([{ type: 'DistributionPromoted', data: { wave: 1, by: 'olga' } }]);
      expect(types(run.advance())[0]).toBe('WaveStarted');
    });

    it('rolls a finished distribution back on request, recording it as a manual trigger only while active', () => {
      const run = new Run();
      run.create({ execution: { ...policy, healthWindowMs: 0 } });
      run.advance();
      run.swapAll();
      run.advance();
      expect(run.state.status).toBe('Succeeded');
      expect(types(run.control('rollback'))).toStrictEqual(['RollbackStarted']);
      expect(types(run.advance())).toStrictEqual(Array(4).fill('TargetRollbackRequested'));
      run.report('d0', 'failed');
      run.swapAll();
      expect(run.advance()).toMatchObject([{ type: 'DistributionRolledBack', data: { rolledBack: 3, failed: 1 } }]);
      expect(() => run.control('rollback')).toThrow('already rolled back');
      const active = new Run();
      active.create();
      expect(types(active.control('rollback'))).toStrictEqual(['DegradationDetected', 'RollbackStarted']);
    });

    it('rolls back a device that reports its swap after the rollback started', () => {
      const run = new Run();
      run.create({ execution: { ...policy, healthWindowMs: 0 } });
      run.advance();
      run.report('d0');
      run.control('rollback');
      expect(types(run.advance())).toStrictEqual(['TargetRollbackRequested']);
      run.report('d1');
      expect(run.advance()).toMatchObject([{ type: 'TargetRollbackRequested', data: { deviceId: 'd1' } }]);
      run.report('d2', 'failed');
      run.report('d3', 'failed');
      run.swapAll();
      expect(types(run.advance())).toStrictEqual(['DistributionRolledBack']);
    });

    it('refuses an unknown verb', () => {
      const run = new Run();
      run.create();
      expect(() => run.control('explode' as never)).toThrow(InvalidCommandError);
    });
  });

  describe('ownership takeovers', () => {
    const takeover = (from = 'distributor-a', to = 'distributor-b', reason = 'lease expired') =>
      ({ type: 'RecordTakeover', data: { distributionId: id, from, to, reason }, metadata: { now: addMs(T0, 5_000) } }) as DistributionCommand;

    it('records who took the rollout over from whom, and shows it in the history without changing the rollout', () => {
      const run = new Run();
      run.create({ execution: { ...policy, maxInFlight: 1 } });
      run.advance();
      const before = run.state;
      DeciderSpecification.for(distributionDecider).given(run.events).when(takeover()).then([
        { type: 'DistributionTakenOver', data: { distributionId: id, from: 'distributor-a', to: 'distributor-b', reason: 'lease expired', at: addMs(T0, 5_000) } },
      ]);
      run.at(5_000).decide(takeover());
      const after = run.state;
      expect(after.history.at(-1)).toStrictEqual({ at: addMs(T0, 5_000), action: 'taken over', by: 'distributor-b', detail: 'from distributor-a: lease expired' });
      expect({ ...after, history: before.history }).toStrictEqual(before);
      // The new owner carries on exactly where the stream says: the one device in flight is not asked again.
      expect(types(run.advance())).toStrictEqual([]);
    });

    it('records nothing for a finished distribution', () => {
      const run = new Run();
      run.create();
      run.control('cancel');
      DeciderSpecification.for(distributionDecider).given(run.events).when(takeover()).thenNothing();
    });

    it('refuses a takeover of an unknown distribution, from itself, or without a reason', () => {
      const run = new Run();
      run.create();
      DeciderSpecification.for(distributionDecider).given([]).when(takeover()).thenThrows(NotFoundError, 'does not exist');
      DeciderSpecification.for(distributionDecider).given(run.events).when(takeover('distributor-a', 'distributor-a'))
        .thenThrows(InvalidCommandError, 'cannot take over from itself');
      DeciderSpecification.for(distributionDecider).given(run.events).when(takeover('distributor-a', 'distributor-b', ''))
        .thenThrows(InvalidCommandError, 'reason');
    });
  });

  describe('degradation reports', () => {
    it('reacts once, by policy, and ignores later reports', () => {
      const run = new Run();
      run.create();
      const report = () => run.decide({
        type: 'ReportDegradation',
        data: { distributionId: id, trigger: 'latency', detail: 'p99 56% above the control group', by: 'system:monitor', group: 'canary', baseline: 20, observed: 31.2, threshold: 24, samples: 640 },
      });
      expect(report()).toStrictEqual([
        {
          type: 'DegradationDetected',
          data: { distributionId: id, trigger: 'latency', detail: 'p99 56% above the control group', by: 'system:monitor', group: 'canary', baseline: 20, observed: 31.2, threshold: 24, samples: 640, at: T0 },
        },
        { type: 'RollbackStarted', data: { distributionId: id, by: 'system:monitor', reason: 'p99 56% above the control group', at: T0 } },
      ]);
      expect(report()).toStrictEqual([]);
    });

    it('refuses an unknown trigger', () => {
      const run = new Run();
      run.create();
      expect(() => run.decide({ type: 'ReportDegradation', data: { distributionId: id, trigger: 'mood' as never, detail: 'x', by: 'm' } })).toThrow('trigger must be one of');
    });
  });

  describe('devices joining the targeted group', () => {
    const joiner = { n1: { status: 'Online' as const, currentModelId: 'det-1.0.0', region: 'eu', capabilities: { cpuCores: 1, gpu: false, memoryMb: 512, storageMb: 512 } } };

    it('are added to the last wave while it is open, with what they run', () => {
      const run = new Run();
      run.create({ strategy: 'Canary', canaryPercentage: 25, canaryDuration: 'PT1M' });
      const [added] = run.decide({ type: 'AddTargets', data: { distributionId: id, deviceIds: ['n1', 'd0'], fleet: joiner } });
      expect(added).toStrictEqual({ type: 'TargetsAdded', data: { distributionId: id, deviceIds: ['n1'], wave: 2, fromModelIds: ['det-1.0.0'], regions: ['eu'], at: T0 } });
      expect(distributionProgress(run.state).total).toBe(5);
    });

    it('are not added to an A/B test, a finished rollout, or when they cannot run the model', () => {
      const ab = new Run();
      ab.create({ strategy: 'ABTesting', modelId: undefined, modelA: 'a', modelB: 'b', testDuration: 'PT1M', winnerCriteria: { metric: 'latency' } });
      expect(ab.decide({ type: 'AddTargets', data: { distributionId: id, deviceIds: ['n1'], fleet: joiner } })).toStrictEqual([]);
      const gpu = new Run();
      gpu.create({ requirements: { gpu: true }, fleet: fleetOf(4, () => ({ capabilities: { cpuCores: 2, gpu: true, memoryMb: 1024, storageMb: 4096 } })) });
      expect(gpu.decide({ type: 'AddTargets', data: { distributionId: id, deviceIds: ['n1'], fleet: joiner } })).toStrictEqual([]);
    });
  });

  it('folds to nothing from events that precede a creation', () => {
    const state: DistributionState = foldEvents(distributionDecider, [{ type: 'DistributionStarted', data: { distributionId: id, at: T0 } }]);
    expect(state).toStrictEqual({ status: 'Empty' });
    expect(distributionTargets(state)).toStrictEqual([]);
  });
});

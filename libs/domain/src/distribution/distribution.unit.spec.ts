import { describe, expect, it } from '@jest/globals';
import type {
  DistributionCreated, DistributionEvent, DistributionStarted, TargetUpdateFailed, TargetUpdateRequested, TargetUpdateSucceeded,
} from '@hotswap/contracts';
import { foldEvents } from '../decider.js';
import { AlreadyExistsError, IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import { DeciderSpecification } from '../testing/decider-spec.js';
import {
  distributionDecider, type CreateDistribution, type DistributionCommand, type RecordTargetResult, type StartDistribution,
} from './decide.js';
import { distributionProgress, distributionTargets, targetStateOf } from './distribution.js';

const t0 = '2025-03-01T10:00:00.000Z';
const t1 = '2025-03-01T10:01:00.000Z';
const now = '2025-03-01T10:05:00.000Z';
const id = 'dist-1';

function create(overrides: Partial<CreateDistribution['data']> = {}, at = now): CreateDistribution {
  return {
    type: 'CreateDistribution',
    data: {
      distributionId: id, modelId: 'det-2.0.0', strategy: 'Direct', targets: ['cam-1', 'cam-2', 'cam-3'],
      successCriteria: { maxLatencyMs: 50 }, rollbackPolicy: 'Automatic', ...overrides,
    },
    metadata: { now: at },
  };
}
function start(commandIds: Record<string, string> = { 'cam-1': 'c1', 'cam-2': 'c2', 'cam-3': 'c3' }, at = now): StartDistribution {
  return { type: 'StartDistribution', data: { distributionId: id, commandIds }, metadata: { now: at } };
}
function result(deviceId: string, commandId: string, outcome: Partial<RecordTargetResult['data']> = { outcome: 'succeeded', swapMs: 40 }): RecordTargetResult {
  return { type: 'RecordTargetResult', data: { distributionId: id, deviceId, commandId, outcome: 'succeeded', ...outcome }, metadata: { now } };
}

const created: DistributionCreated = {
  type: 'DistributionCreated',
  data: {
    distributionId: id, modelId: 'det-2.0.0', strategy: 'Direct', targets: ['cam-1', 'cam-2', 'cam-3'],
    successCriteria: { maxLatencyMs: 50 }, rollbackPolicy: 'Automatic', createdAt: t0,
  },
};
const started: DistributionStarted = { type: 'DistributionStarted', data: { distributionId: id, at: t1 } };
const requested = (deviceId: string, commandId: string, at = t1): TargetUpdateRequested => ({
  type: 'TargetUpdateRequested', data: { distributionId: id, deviceId, commandId, wave: 1, at },
});
const succeeded = (deviceId: string, commandId: string, at = t1): TargetUpdateSucceeded => ({
  type: 'TargetUpdateSucceeded', data: { distributionId: id, deviceId, commandId, swapMs: 40, at },
});
const failed = (deviceId: string, commandId: string, reason = 'checksum mismatch', at = t1): TargetUpdateFailed => ({
  type: 'TargetUpdateFailed', data: { distributionId: id, deviceId, commandId, reason, at },
});
const running = [created, started, requested('cam-1', 'c1'), requested('cam-2', 'c2'), requested('cam-3', 'c3')];

const spec = DeciderSpecification.for(distributionDecider);
const fold = (events: DistributionEvent[]) => foldEvents(distributionDecider, events);

describe('distribution decider', () => {
  describe('when the distribution does not exist', () => {
    it('creates it, stamped with the command time', () => {
      spec.given([]).when(create()).then([{ ...created, data: { ...created.data, createdAt: now } }]);
    });

    it('marks a rollback distribution, and only one whose flag is exactly true', () => {
      spec.given([]).when(create({ rollback: true })).then([{ ...created, data: { ...created.data, rollback: true, createdAt: now } }]);
      spec.given([]).when(create({ rollback: false })).then([{ ...created, data: { ...created.data, createdAt: now } }]);
      spec.given([]).when(create({ rollback: 'yes' as never })).then([{ ...created, data: { ...created.data, createdAt: now } }]);
    });

    it('records empty success criteria when none are given and keeps only the known ones', () => {
      spec.given([]).when(create({ successCriteria: undefined })).then([{ ...created, data: { ...created.data, successCriteria: {}, createdAt: now } }]);
      spec.given([]).when(create({ successCriteria: { minAccuracy: 0.9, maxErrorRate: 0.01, bogus: 1 } as never }))
        .then([{ ...created, data: { ...created.data, successCriteria: { minAccuracy: 0.9, maxErrorRate: 0.01 }, createdAt: now } }]);
    });

    it.each(['RegionalRollout', 'Canary', 'ABTesting', 'ProgressiveRollout'] as const)('refuses strategy %s as not supported yet', (strategy) => {
      spec.given([]).when(create({ strategy })).thenThrows(InvalidCommandError, `strategy ${strategy} is not supported yet`);
    });

    it.each([
      [{ distributionId: '' }, 'distribution: distributionId is required'],
      [{ modelId: '' }, 'distribution dist-1: modelId is required'],
      [{ strategy: 'BigBang' as never }, 'strategy must be one of Direct, RegionalRollout, Canary, ABTesting, ProgressiveRollout, got "BigBang"'],
      [{ targets: [] }, 'distribution dist-1: targets must list at least one device'],
      [{ targets: undefined as never }, 'targets must list at least one device'],
      [{ targets: ['cam-1', 'cam-2', 'cam-1'] }, 'distribution dist-1: target device cam-1 is listed more than once'],
      [{ targets: ['cam-1', 'cam 2'] }, 'target device id "cam 2" must not contain'],
      [{ rollbackPolicy: 'Sometimes' as never }, 'rollbackPolicy must be one of Automatic, Manual, got "Sometimes"'],
      [{ successCriteria: 'fast' as never }, 'successCriteria must be an object'],
      [{ successCriteria: { maxLatencyMs: -1 } }, 'successCriteria.maxLatencyMs must be a finite number >= 0, got -1'],
    ])('refuses a distribution with %j', (overrides, message) => {
      spec.given([]).when(create(overrides)).thenThrows(InvalidCommandError, message);
    });

    it('refuses a creation without a valid command time', () => {
      spec.given([]).when(create({}, 'now')).thenThrows(InvalidCommandError, 'metadata.now must be an ISO 8601 timestamp');
    });

    it.each([
      ['StartDistribution', start()],
      ['RecordTargetResult', result('cam-1', 'c1')],
    ])('refuses %s as not found', (_type, command) => {
      spec.given([]).when(command).thenThrows(NotFoundError, 'distribution dist-1 does not exist');
    });

    it('reports no progress and no targets', () => {
      expect(distributionProgress(fold([]))).toStrictEqual({ total: 0, updated: 0, failed: 0, pending: 0, rolledBack: 0 });
      expect(distributionTargets(fold([]))).toStrictEqual([]);
    });

    it('knows no target state', () => {
      expect(targetStateOf(fold([]), 'cam-1')).toBeUndefined();
    });

    it('skips events that precede the creation when folding', () => {
      expect(fold([started, requested('cam-1', 'c1')])).toStrictEqual({ status: 'Empty' });
    });
  });

  describe('when the distribution is created', () => {
    it('refuses to create it again', () => {
      spec.given([created]).when(create()).thenThrows(AlreadyExistsError, 'distribution dist-1 already exists');
    });

    it('starts it and requests every target in one wave, in target order', () => {
      spec.given([created]).when(start()).then([
        { type: 'DistributionStarted', data: { distributionId: id, at: now } },
        requested('cam-1', 'c1', now), requested('cam-2', 'c2', now), requested('cam-3', 'c3', now),
      ]);
    });

    it('refuses to start without a command id for every requested device, naming them', () => {
      spec.given([created]).when(start({ 'cam-1': 'c1', 'cam-3': ' ' }))
        .thenThrows(InvalidCommandError, 'distribution dist-1: no command id given for cam-2, cam-3');
    });

    it('refuses command ids for devices that are not targets', () => {
      spec.given([created]).when(start({ 'cam-1': 'c1', 'cam-2': 'c2', 'cam-3': 'c3', 'cam-9': 'c9' }))
        .thenThrows(InvalidCommandError, 'commandIds name devices that are not targets: cam-9');
    });

    it('refuses one command id given to two devices', () => {
      spec.given([created]).when(start({ 'cam-1': 'c1', 'cam-2': 'c1', 'cam-3': 'c3' }))
        .thenThrows(InvalidCommandError, 'command id c1 is given to more than one device');
    });

    it('refuses commandIds that are not a map', () => {
      spec.given([created]).when(start(null as never)).thenThrows(InvalidCommandError, 'commandIds must map each device id to a command id');
    });

    it('refuses a start without a valid command time', () => {
      spec.given([created]).when(start(undefined, '2025-03-01')).thenThrows(InvalidCommandError, 'metadata.now');
    });

    it('ignores a result, since no command is outstanding', () => {
      spec.given([created]).when(result('cam-1', 'c1')).thenNothing();
    });

    it('counts every target as pending', () => {
      const state = fold([created]);
      expect(state).toMatchObject({ status: 'Created', createdAt: t0 });
      expect(distributionProgress(state)).toStrictEqual({ total: 3, updated: 0, failed: 0, pending: 3, rolledBack: 0 });
      expect(distributionTargets(state)).toStrictEqual([
        { deviceId: 'cam-1', status: 'Pending' }, { deviceId: 'cam-2', status: 'Pending' }, { deviceId: 'cam-3', status: 'Pending' },
      ]);
    });
  });

  describe('when the distribution is running', () => {
    it('refuses to start it again', () => {
      spec.given(running).when(start()).thenThrows(IllegalStateError, 'distribution dist-1 is Running; only a Created distribution can be started');
    });

    it('records the device as updated', () => {
      spec.given(running).when(result('cam-1', 'c1', { outcome: 'succeeded', swapMs: 40 })).then([succeeded('cam-1', 'c1', now)]);
    });

    it('records the device as failed with its reason', () => {
      spec.given(running).when(result('cam-2', 'c2', { outcome: 'failed', reason: 'checksum mismatch' })).then([failed('cam-2', 'c2', 'checksum mismatch', now)]);
    });

    it('records the device as updated and succeeds when it was the last target', () => {
      spec.given([...running, succeeded('cam-1', 'c1'), succeeded('cam-2', 'c2')]).when(result('cam-3', 'c3')).then([
        succeeded('cam-3', 'c3', now),
        { type: 'DistributionSucceeded', data: { distributionId: id, at: now, updated: 3 } },
      ]);
    });

    it('fails, naming the failed devices, when the last result is in and any failed', () => {
      spec.given([...running, failed('cam-1', 'c1'), succeeded('cam-2', 'c2')]).when(result('cam-3', 'c3', { outcome: 'failed', reason: 'timeout' })).then([
        failed('cam-3', 'c3', 'timeout', now),
        { type: 'DistributionFailed', data: { distributionId: id, at: now, reason: '2 of 3 targets failed to update: cam-1, cam-3', updated: 1, failed: 2 } },
      ]);
    });

    it('fails when the last result is a success but an earlier one failed', () => {
      spec.given([...running, failed('cam-1', 'c1'), succeeded('cam-2', 'c2')]).when(result('cam-3', 'c3')).then([
        succeeded('cam-3', 'c3', now),
        { type: 'DistributionFailed', data: { distributionId: id, at: now, reason: '1 of 3 targets failed to update: cam-1', updated: 2, failed: 1 } },
      ]);
    });

    it('ignores a duplicate result', () => {
      spec.given([...running, succeeded('cam-1', 'c1')]).when(result('cam-1', 'c1')).thenNothing();
      spec.given([...running, failed('cam-1', 'c1')]).when(result('cam-1', 'c1', { outcome: 'failed', reason: 'again' })).thenNothing();
    });

    it('ignores a result for a command that is not the outstanding one', () => {
      spec.given(running).when(result('cam-1', 'c-old')).thenNothing();
    });

    it('refuses a result for a device that is not a target', () => {
      spec.given(running).when(result('cam-9', 'c9')).thenThrows(InvalidCommandError, 'distribution dist-1: device cam-9 is not a target');
    });

    it('refuses a result for a device named like an Object.prototype member', () => {
      spec.given(running).when(result('constructor', 'c9')).thenThrows(InvalidCommandError, 'device constructor is not a target');
    });

    it.each([
      [{ outcome: 'succeeded' as const, swapMs: undefined }, 'distribution dist-1, device cam-1: swapMs must be a finite number >= 0, got nothing'],
      [{ outcome: 'failed' as const, reason: '' }, 'distribution dist-1, device cam-1: reason is required'],
      [{ outcome: 'maybe' as never }, 'outcome must be succeeded or failed, got "maybe"'],
      [{ commandId: '' }, 'distribution dist-1: commandId is required'],
    ])('refuses a result with %j', (overrides, message) => {
      spec.given(running).when(result('cam-1', 'c1', overrides)).thenThrows(InvalidCommandError, message);
    });

    it('refuses a result without a valid command time', () => {
      spec.given(running).when({ ...result('cam-1', 'c1'), metadata: { now: '' } }).thenThrows(InvalidCommandError, 'metadata.now');
    });

    it('reports progress and each target state', () => {
      const state = fold([...running, succeeded('cam-1', 'c1'), failed('cam-2', 'c2', 'timeout')]);
      expect(state).toMatchObject({ status: 'Running', startedAt: t1 });
      expect(distributionProgress(state)).toStrictEqual({ total: 3, updated: 1, failed: 1, pending: 1, rolledBack: 0 });
      expect(distributionTargets(state)).toStrictEqual([
        { deviceId: 'cam-1', status: 'Updated', commandId: 'c1', swapMs: 40, at: t1 },
        { deviceId: 'cam-2', status: 'Failed', commandId: 'c2', reason: 'timeout', at: t1 },
        { deviceId: 'cam-3', status: 'Requested', commandId: 'c3', wave: 1, requestedAt: t1 },
      ]);
    });

    it('looks up one target state, undefined for a device that is not a target', () => {
      const state = fold([...running, succeeded('cam-1', 'c1')]);
      expect(targetStateOf(state, 'cam-1')).toStrictEqual({ status: 'Updated', commandId: 'c1', swapMs: 40, at: t1 });
      expect(targetStateOf(state, 'cam-9')).toBeUndefined();
    });

    it('skips a target event for a device that is not a target when folding', () => {
      expect(fold([...running, succeeded('cam-9', 'c9')])).toStrictEqual(fold(running));
    });
  });

  describe('at fleet scale', () => {
    it('runs a 2 000-target distribution to success, one result at a time', () => {
      const targets = Array.from({ length: 2000 }, (_, i) => `dev-${i}`);
      const commandIds = Object.fromEntries(targets.map((deviceId) => [deviceId, `cmd-${deviceId}`]));
      const apply = (state: ReturnType<typeof fold>, command: DistributionCommand) => {
        const events = distributionDecider.decide(command, state);
        return { events, state: foldEvents(distributionDecider, events, state) };
      };
      let { state } = apply(fold([]), create({ targets }));
      ({ state } = apply(state, start(commandIds)));
      let last: DistributionEvent[] = [];
      for (const deviceId of targets) ({ events: last, state } = apply(state, result(deviceId, commandIds[deviceId])));
      expect(last.map((event) => event.type)).toStrictEqual(['TargetUpdateSucceeded', 'DistributionSucceeded']);
      expect(distributionProgress(state)).toStrictEqual({ total: 2000, updated: 2000, failed: 0, pending: 0, rolledBack: 0 });
    });
  });

  describe('when the distribution has finished', () => {
    const succeededHistory: DistributionEvent[] = [
      ...running, succeeded('cam-1', 'c1'), succeeded('cam-2', 'c2'), succeeded('cam-3', 'c3'),
      { type: 'DistributionSucceeded', data: { distributionId: id, at: now, updated: 3 } },
    ];
    const failedHistory: DistributionEvent[] = [
      ...running, succeeded('cam-1', 'c1'), succeeded('cam-2', 'c2'), failed('cam-3', 'c3'),
      { type: 'DistributionFailed', data: { distributionId: id, at: now, reason: '1 of 3 targets failed to update: cam-3', updated: 2, failed: 1 } },
    ];

    it('ignores late results once succeeded', () => {
      spec.given(succeededHistory).when(result('cam-3', 'c3')).thenNothing();
    });

    it('ignores late results once failed', () => {
      spec.given(failedHistory).when(result('cam-3', 'c3')).thenNothing();
    });

    it('refuses to start again', () => {
      spec.given(failedHistory).when(start()).thenThrows(IllegalStateError, 'distribution dist-1 is Failed');
      spec.given(succeededHistory).when(start()).thenThrows(IllegalStateError);
    });

    it('records when it finished and why it failed', () => {
      expect(fold(succeededHistory)).toMatchObject({ status: 'Succeeded', finishedAt: now });
      expect(fold(failedHistory)).toMatchObject({ status: 'Failed', finishedAt: now, failureReason: '1 of 3 targets failed to update: cam-3' });
      expect(distributionProgress(fold(failedHistory))).toStrictEqual({ total: 3, updated: 2, failed: 1, pending: 0, rolledBack: 0 });
    });
  });

  describe('with commands and events it does not know', () => {
    it('refuses an unknown command as a bad request', () => {
      spec.given([created]).when({ type: 'PauseDistribution', data: { distributionId: id }, metadata: { now } } as unknown as DistributionCommand)
        .thenThrows(InvalidCommandError, 'unknown command type "PauseDistribution"');
    });

    it('skips an event of a newer schema when folding', () => {
      expect(fold([created, { type: 'DistributionPaused', data: {} } as unknown as DistributionEvent]).status).toBe('Created');
    });
  });
});

import { describe, expect, it } from '@jest/globals';
import * as domain from './index.js';

describe('public API of @hotswap/domain', () => {
  it('exports the deciders, planners, helpers and errors the apps use', () => {
    // The apps depend on these names; a rename or a lost export breaks them.
    expect(Object.keys(domain)).toEqual(expect.arrayContaining([
      'AlreadyExistsError', 'DomainError', 'IllegalStateError', 'InvalidCommandError', 'NotFoundError', 'PlanError',
      'compareSemver', 'decideDevice', 'decideDistribution', 'decideModel', 'deviceDecider', 'distributionDecider', 'distributionProgress',
      'distributionTargets', 'distributionWaves', 'advanceInputs', 'planDistribution', 'toExecutionPolicy', 'PLANNERS', 'evolveDevice',
      'evolveDistribution', 'evolveModel', 'foldEvents', 'initialDeviceState', 'initialDistributionState', 'initialModelState', 'isActive',
      'isValidSemver', 'modelDecider', 'parseSemver', 'sortVersions', 'targetStateOf', 'DEFAULT_VALIDATION_THRESHOLDS', 'RUNNABLE_FRAMEWORKS',
      'describeFailedChecks', 'measurementsOf', 'qualityGate', 'resolveThresholds', 'validationReport', 'checkDataset', 'datasetDecider',
      'scoreAccuracy', 'rollbackTargetRefusal', 'versionOfModelId', 'epochMs', 'isoOf', 'addMs',
    ]));
  });

  it('gives every error the code the edge maps to a status, and keeps the cause', () => {
    const cause = new Error('root');
    const errors = [
      new domain.NotFoundError('nf', { cause }), new domain.AlreadyExistsError('ae'),
      new domain.IllegalStateError('is'), new domain.InvalidCommandError('ic'),
    ];
    expect(errors.map((error) => [error.name, error.code])).toStrictEqual([
      ['NotFoundError', 'NOT_FOUND'], ['AlreadyExistsError', 'CONFLICT'], ['IllegalStateError', 'CONFLICT'], ['InvalidCommandError', 'BAD_REQUEST'],
    ]);
    expect(errors.every((error) => error instanceof domain.DomainError && error instanceof Error)).toBe(true);
    expect(errors[0].cause).toBe(cause);
  });

  it('folds events from a given state as well as from the initial one', () => {
    const registered = {
      type: 'DeviceRegistered' as const,
      data: { deviceId: 'a', deviceType: 't', region: 'r', capabilities: { cpuCores: 1, gpu: false, memoryMb: 1, storageMb: 1 }, tags: [], registeredAt: '2025-01-01T00:00:00Z' },
    };
    const offline = domain.foldEvents(domain.deviceDecider, [registered]);
    const online = domain.foldEvents(domain.deviceDecider, [{ type: 'DeviceCameOnline', data: { deviceId: 'a', at: '2025-01-01T00:00:01Z' } }], offline);
    expect([offline.status, online.status]).toStrictEqual(['Offline', 'Online']);
  });
});

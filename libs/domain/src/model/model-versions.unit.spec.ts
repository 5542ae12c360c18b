import { describe, expect, it } from '@jest/globals';
import type {
  ModelDeprecated, ModelEvent, ModelRejected, ModelUploaded, ModelValidated, ModelValidationStarted, ModelVersionDeleted,
} from '@hotswap/contracts';
import { foldEvents } from '../decider.js';
import { AlreadyExistsError, IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import { DeciderSpecification } from '../testing/decider-spec.js';
import { DEFAULT_VALIDATION_THRESHOLDS, validationReport } from '../validation/quality-gate.js';
import {
  modelDecider, rollbackTargetRefusal, type DeleteModelVersion, type DeprecateModel, type StartValidation, type UploadModel,
} from './decide.js';
import { versionOfModelId } from './model-id.js';

const t0 = '2026-02-01T00:00:00.000Z';
const t1 = '2026-02-01T00:00:01.000Z';
const t2 = '2026-02-01T00:00:02.000Z';
const t3 = '2026-02-01T00:00:03.000Z';
const modelId = 'adder-1.0.0';
const sha256 = 'b'.repeat(64);
const artifactKey = `models/adder/1.0.0/${sha256}.onnx`;

const uploaded: ModelUploaded = {
  type: 'ModelUploaded',
  data: { modelId, name: 'adder', version: '1.0.0', framework: 'onnx', sha256, sizeBytes: 130, artifactKey, metadata: {}, uploadedAt: t0 },
};
const started: ModelValidationStarted = {
  type: 'ModelValidationStarted',
  data: { modelId, validationId: 'v-1', trigger: 'upload', thresholds: DEFAULT_VALIDATION_THRESHOLDS, ranOn: 'validator', at: t1 },
};
const report = validationReport({
  modelId, validationId: 'v-1', framework: 'onnx', expectedSha256: sha256, thresholds: DEFAULT_VALIDATION_THRESHOLDS, steps: [], ranOn: 'validator', startedAt: t1,
}, t2);
const validated: ModelValidated = { type: 'ModelValidated', data: { modelId, validationId: 'v-1', report, at: t2 } };
const rejected: ModelRejected = { type: 'ModelRejected', data: { modelId, validationId: 'v-1', report, at: t2 } };
const deprecated: ModelDeprecated = { type: 'ModelDeprecated', data: { modelId, name: 'adder', version: '1.0.0', at: t3 } };
const deleted: ModelVersionDeleted = {
  type: 'ModelVersionDeleted', data: { modelId, name: 'adder', version: '1.0.0', artifactKey, sha256, at: t3 },
};

const deprecate = (reason?: string, now = t3): DeprecateModel => ({
  type: 'DeprecateModel', data: { modelId, ...(reason !== undefined ? { reason } : {}) }, metadata: { now },
});
const remove = (now = t3): DeleteModelVersion => ({ type: 'DeleteModelVersion', data: { modelId }, metadata: { now } });
const upload = (bytes = 'c'): UploadModel => ({
  type: 'UploadModel',
  data: { modelId, name: 'adder', version: '1.0.0', framework: 'onnx', sha256: bytes.repeat(64), sizeBytes: 140, artifactKey: `k-${bytes}`, metadata: {} },
  metadata: { now: t3 },
});
const revalidate: StartValidation = {
  type: 'StartValidation', data: { modelId, validationId: 'v-2', trigger: 'request', ranOn: 'validator' }, metadata: { now: t3 },
};

const spec = DeciderSpecification.for(modelDecider);

describe('model decider - deprecating a version', () => {
  it.each([
    ['Uploaded', [uploaded]],
    ['Validated', [uploaded, started, validated]],
    ['Rejected', [uploaded, started, rejected]],
  ] as const)('deprecates a %s version, stamped with the command time', (_status, given) => {
    spec.given(given).when(deprecate()).then([deprecated]);
  });

  it('keeps the reason, trimmed', () => {
    spec.given([uploaded]).when(deprecate('  accuracy regression on night images ')).then([
      { type: 'ModelDeprecated', data: { ...deprecated.data, reason: 'accuracy regression on night images' } },
    ]);
  });

  it('records no reason when the given one is blank', () => {
    spec.given([uploaded]).when(deprecate('   ')).then([deprecated]);
  });

  it('refuses a reason longer than 500 characters', () => {
    spec.given([uploaded]).when(deprecate('x'.repeat(501)))
      .thenThrows(InvalidCommandError, 'model adder-1.0.0: reason must be a string of at most 500 characters');
  });

  it('refuses a version that does not exist, naming it', () => {
    spec.given([]).when(deprecate()).thenThrows(NotFoundError, 'model adder-1.0.0 not found');
  });

  it('refuses a deleted version as not found, saying when it was deleted', () => {
    spec.given([uploaded, deleted]).when(deprecate()).thenThrows(NotFoundError, `model adder-1.0.0 not found (deleted at ${t3})`);
  });

  it('refuses to deprecate twice', () => {
    spec.given([uploaded, deprecated]).when(deprecate()).thenThrows(IllegalStateError, `model adder-1.0.0 is already Deprecated (since ${t3})`);
  });

  it('refuses while a validation run goes on', () => {
    spec.given([uploaded, started]).when(deprecate())
      .thenThrows(IllegalStateError, 'model adder-1.0.0 is being validated (run v-1); deprecate it once the run has finished');
  });

  it('refuses a command time that is not a timestamp', () => {
    spec.given([uploaded]).when(deprecate(undefined, 'yesterday')).thenThrows(InvalidCommandError, 'metadata.now must be an ISO 8601 timestamp');
  });

  it('is not validated again once deprecated, and a replayed upload trigger does nothing', () => {
    spec.given([uploaded, started, validated, deprecated]).when(revalidate)
      .thenThrows(IllegalStateError, `model adder-1.0.0 is Deprecated (since ${t3}); it is not validated again`);
    spec.given([uploaded, deprecated]).when({ ...revalidate, data: { ...revalidate.data, trigger: 'upload' } }).thenNothing();
  });

  it('keeps the details and the last report in the deprecated state', () => {
    const state = foldEvents(modelDecider, [uploaded, started, validated, deprecated]);
    expect(state).toMatchObject({ status: 'Deprecated', deprecatedFrom: 'Validated', deprecatedAt: t3, artifactKey, lastReport: report });
  });
});

describe('model decider - deleting a version', () => {
  it.each([
    ['Uploaded', [uploaded]],
    ['Validated', [uploaded, started, validated]],
    ['Rejected', [uploaded, started, rejected]],
    ['Deprecated', [uploaded, started, validated, deprecated]],
  ] as const)('deletes a %s version, recording the artifact it removed', (_status, given) => {
    spec.given(given).when(remove()).then([deleted]);
  });

  it('refuses a version that does not exist', () => {
    spec.given([]).when(remove()).thenThrows(NotFoundError, 'model adder-1.0.0 not found');
  });

  it('refuses to delete twice, as not found', () => {
    spec.given([uploaded, deleted]).when(remove()).thenThrows(NotFoundError, 'not found (deleted at');
  });

  it('refuses while a validation run reads the artifact', () => {
    spec.given([uploaded, started]).when(remove())
      .thenThrows(IllegalStateError, 'model adder-1.0.0 is being validated (run v-1); delete it once the run has finished');
  });

  it('accepts a new upload of the same id once deleted, which starts over as Uploaded', () => {
    spec.given([uploaded, started, validated, deleted]).when(upload()).then([{
      type: 'ModelUploaded',
      data: { ...uploaded.data, sha256: 'c'.repeat(64), sizeBytes: 140, artifactKey: 'k-c', uploadedAt: t3 },
    }]);
    const again: ModelEvent[] = [uploaded, deleted, { type: 'ModelUploaded', data: { ...uploaded.data, artifactKey: 'k-c' } }];
    expect(foldEvents(modelDecider, again)).toMatchObject({ status: 'Uploaded', artifactKey: 'k-c' });
  });

  it('still refuses a second upload of a version that is only deprecated', () => {
    spec.given([uploaded, deprecated]).when(upload()).thenThrows(AlreadyExistsError, 'model adder-1.0.0 already exists');
  });

  it('refuses validation and its steps for a deleted version as not found', () => {
    spec.given([uploaded, deleted]).when(revalidate).thenThrows(NotFoundError, 'model adder-1.0.0 not found (deleted at');
    spec.given([uploaded, deleted])
      .when({ type: 'CompleteValidation', data: { modelId, validationId: 'v-1' }, metadata: { now: t3 } })
      .thenThrows(NotFoundError, 'not found (deleted at');
  });

  it('ignores a validation start folded onto a deleted or deprecated version', () => {
    expect(foldEvents(modelDecider, [uploaded, deleted, started]).status).toBe('Deleted');
    expect(foldEvents(modelDecider, [uploaded, deprecated, started]).status).toBe('Deprecated');
    expect(foldEvents(modelDecider, [uploaded, started, deprecated]).status).toBe('Validating');
  });
});

describe('rollbackTargetRefusal', () => {
  const refusal = (events: ModelEvent[]) => rollbackTargetRefusal(foldEvents(modelDecider, events), modelId);

  it('accepts a live version; validation is the distributor\'s rule', () => {
    expect(refusal([uploaded, started, validated])).toBeUndefined();
    expect(refusal([uploaded])).toBeUndefined();
  });

  it('refuses an unknown, a deleted and a deprecated version with named errors', () => {
    expect(refusal([])).toEqual(new NotFoundError('model adder-1.0.0 not found'));
    const gone = refusal([uploaded, deleted]);
    expect(gone).toBeInstanceOf(IllegalStateError);
    expect(gone?.message).toBe(`model adder-1.0.0 was deleted at ${t3}; it cannot be rolled back to`);
    expect(refusal([uploaded, deprecated])?.message).toBe(`model adder-1.0.0 is Deprecated (since ${t3}); it cannot be rolled back to`);
  });
});

describe('versionOfModelId', () => {
  it.each([
    ['adder', 'adder-1.0.0', '1.0.0'],
    ['adder', 'adder-2.0.0-rc.1+build.5', '2.0.0-rc.1+build.5'],
    ['object-detection', 'object-detection-1.2.0', '1.2.0'],
    ['a', 'a-1.0.0-1.0.0', '1.0.0-1.0.0'],
  ])('reads the version of %s from %s', (name, id, version) => {
    expect(versionOfModelId(name, id)).toBe(version);
  });

  it.each([
    ['a', 'ab-1.0.0'],
    ['a', 'a-latest'],
    ['a', 'a1.0.0'],
    ['adder', 'adder-'],
    ['object', 'object-detection-1.2.0'],
    ['adder', null],
    ['adder', undefined],
  ])('does not give %s the id %p', (name, id) => {
    expect(versionOfModelId(name, id)).toBeUndefined();
  });
});

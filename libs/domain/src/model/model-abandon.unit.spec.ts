import { describe, expect, it } from '@jest/globals';
import type { ModelEvent, ModelRejected, ModelUploaded, ModelValidationStarted, ModelValidationStepRecorded, ValidationStepResult } from '@hotswap/contracts';
import { IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import { DeciderSpecification } from '../testing/decider-spec.js';
import { DEFAULT_VALIDATION_THRESHOLDS } from '../validation/quality-gate.js';
import { modelDecider, type AbandonValidation, type DeleteModelVersion, type StartValidation } from './decide.js';

const t0 = '2026-01-01T00:00:00.000Z';
const t1 = '2026-01-01T00:00:01.000Z';
const t2 = '2026-01-01T00:10:00.000Z';
const sha256 = 'a'.repeat(64);
const modelId = 'adder-1.0.0';

const uploaded: ModelUploaded = {
  type: 'ModelUploaded',
  data: { modelId, name: 'adder', version: '1.0.0', framework: 'onnx', sha256, sizeBytes: 130, artifactKey: 'models/adder/1.0.0/a.onnx', metadata: {}, uploadedAt: t0 },
};
const started: ModelValidationStarted = {
  type: 'ModelValidationStarted',
  data: { modelId, validationId: 'v-1', trigger: 'upload', thresholds: DEFAULT_VALIDATION_THRESHOLDS, ranOn: 'validator', at: t1 },
};
const artifactStep: ValidationStepResult = { step: 'artifact', outcome: 'Completed', durationMs: 2, measurements: { sha256, format: 'onnx' } };
const recorded: ModelValidationStepRecorded = { type: 'ModelValidationStepRecorded', data: { modelId, validationId: 'v-1', result: artifactStep, at: t1 } };
const abandon = (overrides: Partial<AbandonValidation['data']> = {}): AbandonValidation => ({
  type: 'AbandonValidation', data: { modelId, validationId: 'v-1', reason: 'the validator restarted', ...overrides }, metadata: { now: t2 },
});

/** The single event the command decides, for assertions on its report. */
function decided(given: ModelEvent[], command: AbandonValidation): ModelRejected {
  const state = given.reduce(modelDecider.evolve, modelDecider.initialState());
  const events = modelDecider.decide(command, state);
  expect(events).toHaveLength(1);
  return events[0] as ModelRejected;
}

const spec = DeciderSpecification.for(modelDecider);

describe('model decider - abandoning a validation run', () => {
  it('rejects the model with the steps recorded so far, a failing runCompleted check and the reason first among the notes', () => {
    const event = decided([uploaded, started, recorded], abandon());
    expect(event).toMatchObject({ type: 'ModelRejected', data: { modelId, validationId: 'v-1', at: t2 } });
    const { report } = event.data;
    expect(report).toMatchObject({ status: 'Failed', ranOn: 'validator', startedAt: t1, finishedAt: t2, steps: [artifactStep] });
    expect(report.notes[0]).toBe('abandoned after 1 of 4 steps: the validator restarted');
    expect(report.checks.at(-1)).toEqual({ name: 'runCompleted', threshold: true, actual: false, passed: false });
    // What was measured stays visible; what was not fails unmeasured.
    expect(report.checks.find((c) => c.name === 'checksum')).toMatchObject({ passed: true });
    expect(report.checks.find((c) => c.name === 'load')).toMatchObject({ actual: null, passed: false });
  });

  it('leaves the model Rejected, so it can be validated again and deleted', () => {
    const rejected = decided([uploaded, started], abandon());
    const revalidate: StartValidation = { type: 'StartValidation', data: { modelId, validationId: 'v-2', trigger: 'request', ranOn: 'validator' }, metadata: { now: t2 } };
    spec.given([uploaded, started, rejected]).when(revalidate).then([{
      type: 'ModelValidationStarted',
      data: { modelId, validationId: 'v-2', trigger: 'request', thresholds: DEFAULT_VALIDATION_THRESHOLDS, ranOn: 'validator', at: t2 },
    }]);
    const del: DeleteModelVersion = { type: 'DeleteModelVersion', data: { modelId }, metadata: { now: t2 } };
    spec.given([uploaded, started, rejected]).when(del).then([{
      type: 'ModelVersionDeleted',
      data: { modelId, name: 'adder', version: '1.0.0', artifactKey: 'models/adder/1.0.0/a.onnx', sha256, at: t2 },
    }]);
  });

  it('refuses to abandon another run than the current one, naming both', () => {
    spec.given([uploaded, started]).when(abandon({ validationId: 'v-0' }))
      .thenThrows(IllegalStateError, 'model adder-1.0.0: validation run v-0 is not the current one (v-1)');
  });

  it('refuses to abandon a run that has finished', () => {
    const rejected = decided([uploaded, started], abandon());
    spec.given([uploaded, started, rejected]).when(abandon()).thenThrows(IllegalStateError, 'model adder-1.0.0 is Rejected, not being validated');
    spec.given([uploaded]).when(abandon()).thenThrows(IllegalStateError, 'model adder-1.0.0 is Uploaded, not being validated');
  });

  it('refuses an unknown model', () => {
    spec.given([]).when(abandon()).thenThrows(NotFoundError, 'model adder-1.0.0 not found');
  });

  it('refuses a missing or overlong reason, naming the field', () => {
    spec.given([uploaded, started]).when(abandon({ reason: ' ' })).thenThrows(InvalidCommandError, 'reason is required');
    spec.given([uploaded, started]).when(abandon({ reason: 'x'.repeat(501) })).thenThrows(InvalidCommandError, 'reason must be at most 500 characters');
  });
});

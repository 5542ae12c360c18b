import { describe, it } from '@jest/globals';
import type {
  ModelEvent, ModelRejected, ModelUploaded, ModelValidated, ModelValidationStarted, ModelValidationStepRecorded, ValidationStepResult,
} from '@hotswap/contracts';
import { IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import { DeciderSpecification } from '../testing/decider-spec.js';
import { DEFAULT_VALIDATION_THRESHOLDS, validationReport } from '../validation/quality-gate.js';
import { modelDecider, type CompleteValidation, type RecordValidationStep, type StartValidation } from './decide.js';

const t0 = '2026-01-01T00:00:00.000Z';
const t1 = '2026-01-01T00:00:01.000Z';
const t2 = '2026-01-01T00:00:02.000Z';
const sha256 = 'a'.repeat(64);
const modelId = 'adder-1.0.0';

const uploaded = (framework: 'onnx' | 'tensorflow' = 'onnx'): ModelUploaded => ({
  type: 'ModelUploaded',
  data: { modelId, name: 'adder', version: '1.0.0', framework, sha256, sizeBytes: 130, artifactKey: 'models/adder/1.0.0/a.onnx', metadata: {}, uploadedAt: t0 },
});
const start = (overrides: Partial<StartValidation['data']> = {}): StartValidation => ({
  type: 'StartValidation', data: { modelId, validationId: 'v-1', trigger: 'request', ranOn: 'validator', ...overrides }, metadata: { now: t1 },
});
const started = (overrides: Partial<ModelValidationStarted['data']> = {}): ModelValidationStarted => ({
  type: 'ModelValidationStarted',
  data: { modelId, validationId: 'v-1', trigger: 'request', thresholds: DEFAULT_VALIDATION_THRESHOLDS, ranOn: 'validator', at: t1, ...overrides },
});
const artifactStep: ValidationStepResult = { step: 'artifact', outcome: 'Completed', durationMs: 2, measurements: { sha256, format: 'onnx' } };
const loadStep: ValidationStepResult = { step: 'load', outcome: 'Completed', durationMs: 10, measurements: { loadMs: 10, memoryMb: 4 } };
const benchmarkStep = (p99: number): ValidationStepResult => ({
  step: 'benchmark', outcome: 'Completed', durationMs: 30,
  measurements: { inferences: 100, latencyMs: { p50: 0.1, p95: 0.2, p99 }, throughputPerSec: 3000, memoryMb: 5, errorRate: 0, cpuPercent: 80 },
});
const record = (result: ValidationStepResult, validationId = 'v-1'): RecordValidationStep => ({
  type: 'RecordValidationStep', data: { modelId, validationId, result }, metadata: { now: t1 },
});
const recorded = (result: ValidationStepResult): ModelValidationStepRecorded => ({
  type: 'ModelValidationStepRecorded', data: { modelId, validationId: 'v-1', result, at: t1 },
});
const complete = (validationId = 'v-1'): CompleteValidation => ({ type: 'CompleteValidation', data: { modelId, validationId }, metadata: { now: t2 } });
const reportOf = (steps: ValidationStepResult[], framework: 'onnx' | 'tensorflow' = 'onnx', thresholds = DEFAULT_VALIDATION_THRESHOLDS) => validationReport({
  modelId, validationId: 'v-1', framework, expectedSha256: sha256, thresholds, steps, ranOn: 'validator', startedAt: t1,
}, t2);
const passedSteps = [artifactStep, loadStep, benchmarkStep(0.5)];
const validated: ModelValidated = { type: 'ModelValidated', data: { modelId, validationId: 'v-1', report: reportOf(passedSteps), at: t2 } };
const rejected: ModelRejected = { type: 'ModelRejected', data: { modelId, validationId: 'v-1', report: reportOf([artifactStep, loadStep, benchmarkStep(150)]), at: t2 } };

const spec = DeciderSpecification.for(modelDecider);

describe('model decider - validation', () => {
  describe('when the model does not exist', () => {
    it('refuses to validate it, naming the id', () => {
      spec.given([]).when(start()).thenThrows(NotFoundError, 'model adder-1.0.0 not found');
    });

    it('refuses a step for it', () => {
      spec.given([]).when(record(artifactStep)).thenThrows(NotFoundError, 'model adder-1.0.0 not found');
    });
  });

  describe('when the model was uploaded', () => {
    it('starts a run with the default thresholds', () => {
      spec.given([uploaded()]).when(start()).then([started()]);
    });

    it('starts the first run on the upload trigger, with overrides on top of the configured defaults', () => {
      const defaults = { ...DEFAULT_VALIDATION_THRESHOLDS, maxMemoryMb: 512 };
      spec.given([uploaded()]).when(start({ trigger: 'upload', thresholds: { latencyP99Ms: 20 }, defaultThresholds: defaults, datasetId: 'ds-1' }))
        .then([started({ trigger: 'upload', thresholds: { ...defaults, latencyP99Ms: 20 }, datasetId: 'ds-1' })]);
    });

    it('refuses a bad threshold, naming it', () => {
      spec.given([uploaded()]).when(start({ thresholds: { latencyP99Ms: -3 } }))
        .thenThrows(InvalidCommandError, 'model adder-1.0.0: thresholds.latencyP99Ms must be a number > 0');
    });

    it('refuses a run without an id or a place to run', () => {
      spec.given([uploaded()]).when(start({ validationId: '' })).thenThrows(InvalidCommandError, 'validationId is required');
      spec.given([uploaded()]).when(start({ ranOn: ' ' })).thenThrows(InvalidCommandError, 'ranOn is required');
    });

    it('refuses an unknown trigger', () => {
      spec.given([uploaded()]).when(start({ trigger: 'cron' as never })).thenThrows(InvalidCommandError, 'trigger must be one of upload, request');
    });

    it('refuses a step or an outcome while no run is going on', () => {
      spec.given([uploaded()]).when(record(artifactStep)).thenThrows(IllegalStateError, 'model adder-1.0.0 is Uploaded, not being validated');
      spec.given([uploaded()]).when(complete()).thenThrows(IllegalStateError, 'not being validated');
    });
  });

  describe('when a run is going on', () => {
    it('records each step', () => {
      spec.given([uploaded(), started()]).when(record(artifactStep)).then([recorded(artifactStep)]);
    });

    it('refuses a second request with 409, naming the run', () => {
      spec.given([uploaded(), started()]).when(start({ validationId: 'v-2' }))
        .thenThrows(IllegalStateError, 'model adder-1.0.0 is being validated (run v-1 started at 2026-01-01T00:00:01.000Z)');
    });

    it('ignores the upload trigger, so a replayed upload does not start a second run', () => {
      spec.given([uploaded(), started()]).when(start({ validationId: 'v-2', trigger: 'upload' })).thenNothing();
    });

    it('refuses a step of another run', () => {
      spec.given([uploaded(), started()]).when(record(artifactStep, 'v-0'))
        .thenThrows(IllegalStateError, 'validation run v-0 is not the current one (v-1)');
    });

    it('refuses the same step twice', () => {
      spec.given([uploaded(), started(), recorded(artifactStep)]).when(record(artifactStep))
        .thenThrows(IllegalStateError, 'step artifact of run v-1 is already recorded');
    });

    it.each([
      [{ ...artifactStep, step: 'fuzz' }, 'result.step must be one of artifact, load, benchmark, accuracy'],
      [{ ...artifactStep, outcome: 'Great' }, 'result.outcome must be one of Completed, Failed, Skipped'],
      [{ ...artifactStep, durationMs: -1 }, 'result.durationMs must be a finite number >= 0'],
      [{ ...artifactStep, measurements: null }, 'result.measurements must be an object'],
    ])('refuses a malformed step %j', (result, message) => {
      spec.given([uploaded(), started()]).when(record(result as ValidationStepResult)).thenThrows(InvalidCommandError, message);
    });

    it('validates the model when every check passes', () => {
      spec.given([uploaded(), started(), ...passedSteps.map(recorded)]).when(complete()).then([validated]);
    });

    it('rejects the model when a check fails, the report naming it', () => {
      spec.given([uploaded(), started(), ...[artifactStep, loadStep, benchmarkStep(150)].map(recorded)]).when(complete()).then([rejected]);
    });

    it('rejects a model whose framework has no runtime, its report saying no benchmark ran', () => {
      const tfArtifact: ValidationStepResult = { ...artifactStep, measurements: { sha256, format: 'tensorflow' } };
      const report = reportOf([tfArtifact], 'tensorflow');
      spec.given([uploaded('tensorflow'), started(), recorded(tfArtifact)]).when(complete())
        .then([{ type: 'ModelRejected', data: { modelId, validationId: 'v-1', report, at: t2 } }]);
    });

    it('refuses the outcome of another run', () => {
      spec.given([uploaded(), started()]).when(complete('v-9')).thenThrows(IllegalStateError, 'validation run v-9 is not the current one');
    });
  });

  describe('when the model was validated or rejected', () => {
    it.each([['validated', validated], ['rejected', rejected]] as const)('re-validates a %s model on request, with overrides', (_name, outcome) => {
      spec.given([uploaded(), started(), ...passedSteps.map(recorded), outcome])
        .when(start({ validationId: 'v-2', thresholds: { latencyP99Ms: 1 } }))
        .then([started({ validationId: 'v-2', thresholds: { ...DEFAULT_VALIDATION_THRESHOLDS, latencyP99Ms: 1 } })]);
    });

    it('does not re-validate on the upload trigger', () => {
      spec.given([uploaded(), started(), ...passedSteps.map(recorded), validated]).when(start({ validationId: 'v-2', trigger: 'upload' })).thenNothing();
    });

    it('refuses a late step of the finished run', () => {
      spec.given([uploaded(), started(), ...passedSteps.map(recorded), validated]).when(record(loadStep))
        .thenThrows(IllegalStateError, 'model adder-1.0.0 is Validated, not being validated');
    });

    it('starts the next run with no steps of the previous one', () => {
      const next = started({ validationId: 'v-2', at: t2 });
      spec.given([uploaded(), started(), ...passedSteps.map(recorded), rejected, next]).when(record(artifactStep, 'v-2'))
        .then([{ type: 'ModelValidationStepRecorded', data: { modelId, validationId: 'v-2', result: artifactStep, at: t1 } }]);
    });
  });

  describe('with events out of place', () => {
    it('ignores validation events of a model that was never uploaded, and steps of another run', () => {
      const stray: ModelEvent[] = [started(), { ...recorded(artifactStep), data: { ...recorded(artifactStep).data, validationId: 'v-0' } }, validated];
      spec.given(stray).when(start()).thenThrows(NotFoundError, 'not found');
      spec.given([uploaded(), validated]).when(record(artifactStep)).thenThrows(IllegalStateError, 'is Uploaded');
      spec.given([uploaded(), started(), { ...recorded(artifactStep), data: { ...recorded(artifactStep).data, validationId: 'v-0' } }])
        .when(record(artifactStep)).then([recorded(artifactStep)]);
    });
  });
});

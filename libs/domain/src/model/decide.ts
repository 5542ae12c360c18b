import {
  FRAMEWORKS, invalidIdReason, VALIDATION_STEP_OUTCOMES, VALIDATION_STEPS,
  type Framework, type ModelEvent, type ModelMetadata, type ModelRejected, type ModelUploaded, type ModelValidated,
  type ModelValidationStarted, type ModelValidationStepRecorded, type ValidationStepResult, type ValidationThresholds,
} from '@hotswap/contracts';
import { unknownCommand, type Command, type Decider } from '../decider.js';
import { AlreadyExistsError, IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import { parseSemver } from '../semver.js';
import { requireNonNegativeNumber, requirePositiveInteger, requireOneOf, requireText, requireTimestamp } from '../validation.js';
import { resolveThresholds, validationReport } from '../validation/quality-gate.js';
import { evolveModel, initialModelState, type ModelDetails, type ModelState, type ValidationRun } from './model.js';

export type UploadModel = Command<'UploadModel', {
  /** Must be `<name>-<version>`. */
  readonly modelId: string;
  readonly name: string;
  /** Semantic version. */
  readonly version: string;
  readonly framework: Framework;
  /** SHA-256 of the artifact, 64 lowercase hex digits. */
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Where the artifact store keeps it. */
  readonly artifactKey: string;
  readonly metadata: ModelMetadata;
}>;

export type StartValidation = Command<'StartValidation', {
  readonly modelId: string;
  /** Made by the caller (a uuid), so the steps and the outcome can name their run. */
  readonly validationId: string;
  /**
   * `upload`: the validator reacting to `ModelUploaded`; does nothing unless the model is still
   * `Uploaded`, so a replayed upload never validates twice. `request`: an explicit (re-)validation.
   */
  readonly trigger: 'upload' | 'request';
  /** Per-request overrides of `defaultThresholds`. */
  readonly thresholds?: ValidationThresholds;
  /** The validator's configured defaults; the specification's when unset. */
  readonly defaultThresholds?: Required<ValidationThresholds>;
  readonly datasetId?: string;
  /** `validator`, or the id of the device running the load test and benchmark. */
  readonly ranOn: string;
}>;

export type RecordValidationStep = Command<'RecordValidationStep', {
  readonly modelId: string;
  readonly validationId: string;
  readonly result: ValidationStepResult;
}>;

/** Applies the quality gate to the recorded steps: the model becomes Validated or Rejected. */
export type CompleteValidation = Command<'CompleteValidation', {
  readonly modelId: string;
  readonly validationId: string;
}>;

export type ModelCommand = UploadModel | StartValidation | RecordValidationStep | CompleteValidation;

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

function uploadModel({ data, metadata }: UploadModel, state: ModelState): ModelUploaded[] {
  const subject = `model ${data.modelId}`;
  if (state.status !== 'Empty') throw new AlreadyExistsError(`model ${data.modelId} already exists`);
  requireText('model', 'modelId', data.modelId);
  const nameProblem = invalidIdReason('model name', data.name);
  if (nameProblem !== undefined) throw new InvalidCommandError(`${subject}: ${nameProblem}`);
  parseSemver(data.version);
  const expectedId = `${data.name}-${data.version}`;
  if (data.modelId !== expectedId) {
    throw new InvalidCommandError(`${subject}: modelId must be <name>-<version>, i.e. "${expectedId}"`);
  }
  requireOneOf(subject, 'framework', data.framework, FRAMEWORKS);
  if (typeof data.sha256 !== 'string' || !SHA256_PATTERN.test(data.sha256)) {
    throw new InvalidCommandError(`${subject}: sha256 must be 64 lowercase hex digits, got ${JSON.stringify(data.sha256)}`);
  }
  requirePositiveInteger(subject, 'sizeBytes', data.sizeBytes);
  requireText(subject, 'artifactKey', data.artifactKey);
  const uploadedAt = requireTimestamp(subject, 'metadata.now', metadata.now);
  return [{
    type: 'ModelUploaded',
    data: {
      modelId: data.modelId,
      name: data.name,
      version: data.version,
      framework: data.framework,
      sha256: data.sha256,
      sizeBytes: data.sizeBytes,
      artifactKey: data.artifactKey,
      metadata: data.metadata ?? {},
      uploadedAt,
    },
  }];
}

function startValidation({ data, metadata }: StartValidation, state: ModelState): ModelValidationStarted[] {
  const subject = `model ${data.modelId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  if (state.status === 'Empty') throw new NotFoundError(`model ${data.modelId} not found`);
  requireOneOf(subject, 'trigger', data.trigger, ['upload', 'request'] as const);
  // The upload trigger only ever starts the first run; anything else means it already happened.
  if (data.trigger === 'upload' && state.status !== 'Uploaded') return [];
  if (state.status === 'Validating') {
    throw new IllegalStateError(
      `${subject} is being validated (run ${state.run.validationId} started at ${state.run.startedAt}); ask again once it has finished`,
    );
  }
  requireText(subject, 'validationId', data.validationId);
  requireText(subject, 'ranOn', data.ranOn);
  if (data.datasetId !== undefined) requireText(subject, 'datasetId', data.datasetId);
  const thresholds = resolveThresholds(subject, data.thresholds, data.defaultThresholds);
  return [{
    type: 'ModelValidationStarted',
    data: {
      modelId: data.modelId, validationId: data.validationId, trigger: data.trigger, thresholds,
      ...(data.datasetId !== undefined ? { datasetId: data.datasetId } : {}), ranOn: data.ranOn, at,
    },
  }];
}

/** The run a step or the outcome belongs to; refuses anything for another or a finished run. */
function currentRun(subject: string, state: ModelState, validationId: string): { run: ValidationRun; details: ModelDetails } {
  if (state.status === 'Empty') throw new NotFoundError(`${subject} not found`);
  if (state.status !== 'Validating') throw new IllegalStateError(`${subject} is ${state.status}, not being validated`);
  if (state.run.validationId !== validationId) {
    throw new IllegalStateError(`${subject}: validation run ${validationId} is not the current one (${state.run.validationId})`);
  }
  return { run: state.run, details: state };
}

function recordValidationStep({ data, metadata }: RecordValidationStep, state: ModelState): ModelValidationStepRecorded[] {
  const subject = `model ${data.modelId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const { run } = currentRun(subject, state, data.validationId);
  const result = data.result ?? ({} as ValidationStepResult);
  requireOneOf(subject, 'result.step', result.step, VALIDATION_STEPS);
  requireOneOf(subject, 'result.outcome', result.outcome, VALIDATION_STEP_OUTCOMES);
  requireNonNegativeNumber(subject, 'result.durationMs', result.durationMs);
  if (typeof result.measurements !== 'object' || result.measurements === null) {
    throw new InvalidCommandError(`${subject}: result.measurements must be an object`);
  }
  if (run.steps.some((s) => s.step === result.step)) {
    throw new IllegalStateError(`${subject}: step ${result.step} of run ${run.validationId} is already recorded`);
  }
  return [{ type: 'ModelValidationStepRecorded', data: { modelId: data.modelId, validationId: data.validationId, result, at } }];
}

function completeValidation({ data, metadata }: CompleteValidation, state: ModelState): Array<ModelValidated | ModelRejected> {
  const subject = `model ${data.modelId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const { run, details } = currentRun(subject, state, data.validationId);
  const report = validationReport({
    modelId: details.modelId, validationId: run.validationId, framework: details.framework, expectedSha256: details.sha256,
    thresholds: run.thresholds, steps: run.steps, ranOn: run.ranOn, startedAt: run.startedAt,
  }, at);
  const outcome = { modelId: data.modelId, validationId: data.validationId, report, at };
  return [report.status === 'Passed' ? { type: 'ModelValidated', data: outcome } : { type: 'ModelRejected', data: outcome }];
}

export function decideModel(command: ModelCommand, state: ModelState): ModelEvent[] {
  switch (command.type) {
    case 'UploadModel':
      return uploadModel(command, state);
    case 'StartValidation':
      return startValidation(command, state);
    case 'RecordValidationStep':
      return recordValidationStep(command, state);
    case 'CompleteValidation':
      return completeValidation(command, state);
    default: {
      const _exhaustive: never = command;
      return unknownCommand(command);
    }
  }
}

export const modelDecider: Decider<ModelCommand, ModelEvent, ModelState> = {
  decide: decideModel,
  evolve: evolveModel,
  initialState: initialModelState,
};

import {
  FRAMEWORKS, invalidIdReason, VALIDATION_STEP_OUTCOMES, VALIDATION_STEPS,
  type Framework, type ModelDeprecated, type ModelEvent, type ModelMetadata, type ModelRejected, type ModelUploaded, type ModelValidated,
  type ModelVersionDeleted,
  type ModelValidationStarted, type ModelValidationStepRecorded, type ValidationStepResult, type ValidationThresholds,
} from '@hotswap/contracts';
import { unknownCommand, type Command, type Decider } from '../decider.js';
import { AlreadyExistsError, IllegalStateError, InvalidCommandError, NotFoundError, type DomainError } from '../errors.js';
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

/**
 * Ends a run nobody will finish (its validator died or stopped mid-way), so the model leaves
 * `Validating`: it becomes Rejected with the steps recorded so far, a failing `runCompleted` check
 * and the reason first among the notes. It can then be validated again, deprecated or deleted.
 */
export type AbandonValidation = Command<'AbandonValidation', {
  readonly modelId: string;
  /** The run to end; any other (a newer run, a finished one) is refused, so a late abandon never ends the wrong run. */
  readonly validationId: string;
  /** Why, for the report; at most 500 characters. */
  readonly reason: string;
}>;

/** Marks a version as no longer to be distributed (or rolled back to). */
export type DeprecateModel = Command<'DeprecateModel', {
  readonly modelId: string;
  /** Why; at most 500 characters. */
  readonly reason?: string;
}>;

/**
 * Records that the version and its artifact were deleted. The caller removes the artifact first and
 * checks that no device runs the version and no active distribution uses it; the aggregate cannot
 * see devices or distributions.
 */
export type DeleteModelVersion = Command<'DeleteModelVersion', {
  readonly modelId: string;
}>;

export type ModelCommand =
  | UploadModel | StartValidation | RecordValidationStep | CompleteValidation | AbandonValidation | DeprecateModel | DeleteModelVersion;

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

function uploadModel({ data, metadata }: UploadModel, state: ModelState): ModelUploaded[] {
  const subject = `model ${data.modelId}`;
  // A deleted version may be uploaded again (its artifact is gone); anything else keeps its id.
  if (state.status !== 'Empty' && state.status !== 'Deleted') throw new AlreadyExistsError(`model ${data.modelId} already exists`);
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
  requireExisting(subject, state);
  requireOneOf(subject, 'trigger', data.trigger, ['upload', 'request'] as const);
  // The upload trigger only ever starts the first run; anything else means it already happened.
  if (data.trigger === 'upload' && state.status !== 'Uploaded') return [];
  if (state.status === 'Validating') {
    throw new IllegalStateError(
      `${subject} is being validated (run ${state.run.validationId} started at ${state.run.startedAt}); ask again once it has finished`,
    );
  }
  if (state.status === 'Deprecated') throw new IllegalStateError(`${subject} is Deprecated (since ${state.deprecatedAt}); it is not validated again`);
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
  requireExisting(subject, state);
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

/** The check every abandoned run fails: its steps never all ran. */
export const RUN_COMPLETED_CHECK = 'runCompleted';

function abandonValidation({ data, metadata }: AbandonValidation, state: ModelState): ModelRejected[] {
  const subject = `model ${data.modelId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const reason = requireText(subject, 'reason', data.reason).trim();
  if (reason.length > MAX_REASON_LENGTH) throw new InvalidCommandError(`${subject}: reason must be at most ${MAX_REASON_LENGTH} characters`);
  const { run, details } = currentRun(subject, state, data.validationId);
  const gate = validationReport({
    modelId: details.modelId, validationId: run.validationId, framework: details.framework, expectedSha256: details.sha256,
    thresholds: run.thresholds, steps: run.steps, ranOn: run.ranOn, startedAt: run.startedAt,
  }, at);
  const report = {
    ...gate,
    status: 'Failed' as const,
    checks: [...gate.checks, { name: RUN_COMPLETED_CHECK, threshold: true, actual: false, passed: false }],
    notes: [`abandoned after ${run.steps.length} of ${VALIDATION_STEPS.length} steps: ${reason}`, ...gate.notes],
  };
  return [{ type: 'ModelRejected', data: { modelId: data.modelId, validationId: data.validationId, report, at } }];
}

/** NotFound for a model never uploaded or deleted (saying when). */
function requireExisting(subject: string, state: ModelState): asserts state is Exclude<ModelState, { status: 'Empty' | 'Deleted' }> {
  if (state.status === 'Empty') throw new NotFoundError(`${subject} not found`);
  if (state.status === 'Deleted') throw new NotFoundError(`${subject} not found (deleted at ${state.deletedAt})`);
}

const MAX_REASON_LENGTH = 500;

function deprecateModel({ data, metadata }: DeprecateModel, state: ModelState): ModelDeprecated[] {
  const subject = `model ${data.modelId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  requireExisting(subject, state);
  if (data.reason !== undefined && (typeof data.reason !== 'string' || data.reason.length > MAX_REASON_LENGTH)) {
    throw new InvalidCommandError(`${subject}: reason must be a string of at most ${MAX_REASON_LENGTH} characters`);
  }
  if (state.status === 'Deprecated') throw new IllegalStateError(`${subject} is already Deprecated (since ${state.deprecatedAt})`);
  // A run in progress would record its verdict on a deprecated model; let it finish first.
  if (state.status === 'Validating') {
    throw new IllegalStateError(`${subject} is being validated (run ${state.run.validationId}); deprecate it once the run has finished`);
  }
  const reason = data.reason?.trim();
  return [{
    type: 'ModelDeprecated',
    data: { modelId: state.modelId, name: state.name, version: state.version, ...(reason ? { reason } : {}), at },
  }];
}

function deleteModelVersion({ data, metadata }: DeleteModelVersion, state: ModelState): ModelVersionDeleted[] {
  const subject = `model ${data.modelId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  requireExisting(subject, state);
  // The validator is reading the artifact; deleting it under the run would fail the run, not the delete.
  if (state.status === 'Validating') {
    throw new IllegalStateError(`${subject} is being validated (run ${state.run.validationId}); delete it once the run has finished`);
  }
  return [{
    type: 'ModelVersionDeleted',
    data: { modelId: state.modelId, name: state.name, version: state.version, artifactKey: state.artifactKey, sha256: state.sha256, at },
  }];
}

/**
 * Why the version cannot be the target of a rollback, or undefined when it can. Validation is the
 * distributor's rule (it knows whether it is required); this one is about the version's life.
 */
export function rollbackTargetRefusal(state: ModelState, modelId: string): DomainError | undefined {
  const subject = `model ${modelId}`;
  switch (state.status) {
    case 'Empty':
      return new NotFoundError(`${subject} not found`);
    case 'Deleted':
      return new IllegalStateError(`${subject} was deleted at ${state.deletedAt}; it cannot be rolled back to`);
    case 'Deprecated':
      return new IllegalStateError(`${subject} is Deprecated (since ${state.deprecatedAt}); it cannot be rolled back to`);
    default:
      return undefined;
  }
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
    case 'AbandonValidation':
      return abandonValidation(command, state);
    case 'DeprecateModel':
      return deprecateModel(command, state);
    case 'DeleteModelVersion':
      return deleteModelVersion(command, state);
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

export type { Command, CommandMetadata, Decider } from './decider.js';
export { foldEvents } from './decider.js';
export type { DomainErrorCode } from './errors.js';
export { AlreadyExistsError, DomainError, IllegalStateError, InvalidCommandError, NotFoundError } from './errors.js';
export type { Semver } from './semver.js';
export { compareSemver, isValidSemver, parseSemver, sortVersions } from './semver.js';

export type { ModelDetails, ModelState, ValidationRun } from './model/model.js';
export { evolveModel, initialModelState } from './model/model.js';
export type {
  CompleteValidation, DeleteModelVersion, DeprecateModel, ModelCommand, RecordValidationStep, StartValidation, UploadModel, AbandonValidation,
} from './model/decide.js';
export { decideModel, modelDecider, rollbackTargetRefusal } from './model/decide.js';
export { versionOfModelId } from './model/model-id.js';
export type { QualityGateInput, ReportInput } from './validation/quality-gate.js';
export {
  DEFAULT_VALIDATION_THRESHOLDS, describeFailedChecks, measurementsOf, qualityGate, resolveThresholds, RUNNABLE_FRAMEWORKS,
  validationReport,
} from './validation/quality-gate.js';
export type {
  AccuracyScore, Dataset, DatasetCommand, DatasetInput, DatasetOptions, DatasetState, RegisterDataset,
} from './validation/dataset.js';
export { checkDataset, datasetDecider, scoreAccuracy } from './validation/dataset.js';

export type { DeregisteredDevice, DeviceState, PendingUpdate, RegisteredDevice } from './device/device.js';
export { evolveDevice, initialDeviceState } from './device/device.js';
export type {
  ActivateModel, DeregisterDevice, DeviceCommand, FailUpdate, MarkOffline, RecordHeartbeat, RegisterDevice, StartUpdate, UpdateDevice,
} from './device/decide.js';
export { decideDevice, deviceDecider } from './device/decide.js';

export type {
  DistributionLifecycle, DistributionProgress, DistributionState, ExistingDistribution, TargetView,
} from './distribution/distribution.js';
export {
  distributionProgress, distributionTargets, evolveDistribution, initialDistributionState, targetStateOf,
  TERMINAL_DISTRIBUTION_STATUSES,
} from './distribution/distribution.js';
export type {
  CreateDistribution, DistributionCommand, RecordTargetResult, StartDistribution,
} from './distribution/decide.js';
export { decideDistribution, distributionDecider } from './distribution/decide.js';

export type {
  FleetDevice, FleetSnapshot, PlanInput, RolloutAction, RolloutPlan, RolloutPlanner, RolloutSituation, TargetCounts,
  TargetState, TargetStatus,
} from './rollout/planner.js';
export { TARGET_STATUSES } from './rollout/planner.js';
export { directPlanner, nextDirect, planDirect } from './rollout/direct.js';

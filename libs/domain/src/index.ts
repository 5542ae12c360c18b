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
  DistributionProgress, DistributionState, ExistingDistribution, HistoryEntry, TargetState, TargetView, WaveState, WaveStatus,
} from './distribution/distribution.js';
export {
  ACTIVE_DISTRIBUTION_STATUSES, distributionProgress, distributionTargets, distributionWaves, evolveDistribution, initialDistributionState,
  isActive, targetStateOf,
} from './distribution/distribution.js';
export type {
  AddTargets, AdvanceDistribution, AdvanceInputs, ControlDistribution, CreateDistribution, DistributionCommand, RecordTakeover, RecordTargetResult,
  ReportDegradation, TargetHealth,
} from './distribution/decide.js';
export {
  advanceInputs, decideDistribution, distributionDecider, MAX_REQUESTS_PER_DECISION, rollbackCommandId, updateCommandId,
} from './distribution/decide.js';
export type {
  DistributionPlan, FleetDevice, FleetSnapshot, PlannedWave, PlanRequest, StrategyInput, StrategyPlanner,
} from './rollout/planner.js';
export { PlanError, shareOf } from './rollout/planner.js';
export {
  insideMaintenanceWindow, planDistribution, PLANNERS, requestAllowance, toExecutionPolicy, unmetRequirement,
} from './rollout/plan-distribution.js';
export type { ResourceReading, Saturation, SaturationThresholds } from './rollout/saturation.js';
export {
  assessSaturation, checkSaturationThresholds, cpuShareOver, DEFAULT_SATURATION_THRESHOLDS, NOT_SATURATED, trimReadings,
} from './rollout/saturation.js';
export { addMs, epochMs, isoOf } from './time.js';
export * from './monitoring/index.js';
export { chooseArtifactTransport, forcedArtifactTransport } from './transfer/artifact-transport.js';

export type { HashRing } from './affinity/hash-ring.js';
export { DEFAULT_VIRTUAL_NODES, hash32, hashRing, shares } from './affinity/hash-ring.js';

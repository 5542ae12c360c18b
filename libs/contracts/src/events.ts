import type {
  AbMetric, AbTestSpec, ApprovalReason, DegradationTrigger, ExcludedTarget, ExecutionPolicy, MaintenanceWindow, TargetFilter, TargetSnapshot,
  WaveSpec,
} from './distribution.js';
import type { ValidationReportView } from './messages.js';
import type {
  ArtifactTransport, DatasetInputSpec, DatasetTask, DeviceCapabilities, Framework, RollbackPolicy, Strategy, SuccessCriteria, TensorSpec, ValidationStepResult,
  ValidationThresholds,
} from './vocabulary.js';

/**
 * Domain events, declared once. Each is `{ type, data }`; the store adds `metadata` (actor, trace
 * id, schema version). Bump the version in `EVENT_SCHEMA_VERSIONS` when a `data` shape changes
 * incompatibly, and keep readers of the old version.
 */
export interface DomainEvent<Type extends string, Data> {
  readonly type: Type;
  readonly data: Data;
}

/** Metadata every stored event carries. */
export interface EventMetadata {
  readonly schemaVersion: number;
  /** Who caused it: a user (`sub` of the JWT), a device id, or `system:<service>`. */
  readonly actor: string;
  readonly traceparent?: string;
  readonly occurredAt: string;
}

// ── Model ────────────────────────────────────────────────────────────────────
export interface ModelMetadata {
  readonly inputSchema?: readonly TensorSpec[];
  readonly outputSchema?: readonly TensorSpec[];
  readonly requirements?: Partial<DeviceCapabilities>;
  readonly description?: string;
  /** ONNX opset version of the default domain, when known. */
  readonly opset?: number;
}

export type ModelUploaded = DomainEvent<'ModelUploaded', {
  readonly modelId: string;
  readonly name: string;
  readonly version: string;
  readonly framework: Framework;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly artifactKey: string;
  readonly metadata: ModelMetadata;
  readonly uploadedAt: string;
}>;

/** A validation run began; the model is `Validating` until it is validated or rejected. */
export type ModelValidationStarted = DomainEvent<'ModelValidationStarted', {
  readonly modelId: string;
  /** Identifies the run; its steps and outcome carry it. */
  readonly validationId: string;
  /** What started it: the upload, or a `POST /models/{id}/validate`. */
  readonly trigger: 'upload' | 'request';
  /** The thresholds in force, defaults filled in. */
  readonly thresholds: Required<ValidationThresholds>;
  readonly datasetId?: string;
  /** Where the load test and benchmark run: `validator`, or a device id. */
  readonly ranOn: string;
  readonly at: string;
}>;
/** One step of a validation run finished (or was skipped), with what it measured. */
export type ModelValidationStepRecorded = DomainEvent<'ModelValidationStepRecorded', {
  readonly modelId: string;
  readonly validationId: string;
  readonly result: ValidationStepResult;
  readonly at: string;
}>;
/** Every check of the quality gate passed: the model may be distributed. */
export type ModelValidated = DomainEvent<'ModelValidated', {
  readonly modelId: string; readonly validationId: string; readonly report: ValidationReportView; readonly at: string;
}>;
/** A check failed (or could not run): the model may not be distributed while validation is required. */
export type ModelRejected = DomainEvent<'ModelRejected', {
  readonly modelId: string; readonly validationId: string; readonly report: ValidationReportView; readonly at: string;
}>;

/** The version stays readable but may not be the target of a new distribution or a rollback. */
export type ModelDeprecated = DomainEvent<'ModelDeprecated', {
  readonly modelId: string;
  readonly name: string;
  readonly version: string;
  /** Why, in the deprecating user's words; absent when none was given. */
  readonly reason?: string;
  readonly at: string;
}>;
/**
 * The version was deleted and its artifact removed from the store (GDPR erasure); the actor in the
 * event metadata is who deleted it. The same id may be uploaded again afterwards.
 */
export type ModelVersionDeleted = DomainEvent<'ModelVersionDeleted', {
  readonly modelId: string;
  readonly name: string;
  readonly version: string;
  /** The removed artifact: where it was stored and its SHA-256, so the audit trail says what went. */
  readonly artifactKey: string;
  readonly sha256: string;
  readonly at: string;
}>;

export type ModelEvent =
  | ModelUploaded | ModelValidationStarted | ModelValidationStepRecorded | ModelValidated | ModelRejected | ModelDeprecated
  | ModelVersionDeleted;

// ── Device ───────────────────────────────────────────────────────────────────
export type DeviceRegistered = DomainEvent<'DeviceRegistered', {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly region: string;
  readonly capabilities: DeviceCapabilities;
  readonly tags: readonly string[];
  readonly registeredAt: string;
}>;
export type DeviceCameOnline = DomainEvent<'DeviceCameOnline', { readonly deviceId: string; readonly at: string }>;
export type DeviceWentOffline = DomainEvent<'DeviceWentOffline', {
  readonly deviceId: string; readonly at: string; readonly lastHeartbeat: string;
}>;
export type DeviceUpdateStarted = DomainEvent<'DeviceUpdateStarted', {
  readonly deviceId: string; readonly modelId: string; readonly distributionId: string; readonly at: string;
}>;
export type DeviceModelActivated = DomainEvent<'DeviceModelActivated', {
  readonly deviceId: string;
  readonly modelId: string;
  readonly previousModelId?: string;
  readonly distributionId?: string;
  /** Time from command to the new model serving, as the device measured it. */
  readonly swapMs: number;
  readonly at: string;
}>;
export type DeviceUpdateFailed = DomainEvent<'DeviceUpdateFailed', {
  readonly deviceId: string; readonly modelId: string; readonly distributionId?: string; readonly reason: string; readonly at: string;
}>;

/**
 * The device was deleted from the fleet (`DELETE /api/v1/devices/{id}`): the control plane refuses
 * its messages and no longer renews its credentials. Only a new registration through the API brings it back.
 */
export type DeviceDeregistered = DomainEvent<'DeviceDeregistered', {
  readonly deviceId: string; readonly at: string;
}>;

export type DeviceEvent =
  | DeviceRegistered | DeviceCameOnline | DeviceWentOffline | DeviceUpdateStarted | DeviceModelActivated | DeviceUpdateFailed
  | DeviceDeregistered;

// ── Distribution ─────────────────────────────────────────────────────────────
type Dist<Type extends string, Data> = DomainEvent<Type, { readonly distributionId: string; readonly at: string } & Data>;

/** A distribution was planned: its targets in wave order, its waves and its rules. */
export type DistributionCreated = DomainEvent<'DistributionCreated', {
  readonly distributionId: string;
  /** The model rolled out (ABTesting: modelB). */
  readonly modelId: string;
  readonly strategy: Strategy;
  /** Target device ids in wave order: wave 1 is the first `waves[0].size`, and so on. */
  readonly targets: readonly string[];
  readonly waves: readonly WaveSpec[];
  /** Devices the filter matched that cannot run the model, and why. */
  readonly excluded: readonly ExcludedTarget[];
  readonly successCriteria: SuccessCriteria;
  readonly rollbackPolicy: RollbackPolicy;
  readonly execution: ExecutionPolicy;
  /** Not started before this instant. */
  readonly startAt?: string;
  readonly maintenanceWindows?: readonly MaintenanceWindow[];
  /**
   * What each target ran and where it was when planned, dictionary-encoded to stay small at
   * 10 000 targets: `model[i]` indexes `modelIds` (-1 = none), `region[i]` indexes `regions`.
   * The model is what a rollback returns the device to.
   */
  readonly snapshot: TargetSnapshot;
  /** The model's device requirements, checked again for devices added while it runs. */
  readonly requirements?: Partial<DeviceCapabilities>;
  /** Kept so that devices joining the filtered group while it runs are added. */
  readonly targetFilter?: TargetFilter;
  readonly abTest?: AbTestSpec;
  /** A rollback to an older version: its swap commands carry a signed rollback instruction. Absent otherwise. */
  readonly rollback?: boolean;
  /** The transport the request forced on every device; absent: `auto`, each device's capability decides. */
  readonly transport?: ArtifactTransport;
  readonly createdAt: string;
}>;
export type DistributionStarted = Dist<'DistributionStarted', object>;
/** Devices that joined the targeted group while the distribution ran. */
export type TargetsAdded = Dist<'TargetsAdded', {
  readonly deviceIds: readonly string[]; readonly wave: number;
  /** Parallel to `deviceIds`: what each ran (null = nothing) and its region. */
  readonly fromModelIds: readonly (string | null)[]; readonly regions: readonly (string | null)[];
}>;
export type WaveStarted = Dist<'WaveStarted', { readonly wave: number }>;
/** Every target of the wave is verified or has finally failed; observation runs until `observeUntil`. */
export type WaveCompleted = Dist<'WaveCompleted', { readonly wave: number; readonly updated: number; readonly failed: number; readonly observeUntil: string }>;
export type ApprovalRequested = Dist<'ApprovalRequested', { readonly wave: number; readonly reason: ApprovalReason }>;
export type DistributionApproved = Dist<'DistributionApproved', { readonly wave: number; readonly by: string }>;
export type DistributionPaused = Dist<'DistributionPaused', { readonly by: string; readonly reason: string }>;
export type DistributionResumed = Dist<'DistributionResumed', { readonly by: string }>;
/** The operator skipped the rest of the current wave's observation. */
export type DistributionPromoted = Dist<'DistributionPromoted', { readonly wave: number; readonly by: string }>;
export type DistributionCancelled = Dist<'DistributionCancelled', { readonly by: string; readonly reason: string }>;
/**
 * Another distributor instance took over driving the distribution: its owner `from` had not renewed
 * its ownership claim for the lease (`reason`), so `to` claimed it and carries on from the stream.
 */
export type DistributionTakenOver = Dist<'DistributionTakenOver', { readonly from: string; readonly to: string; readonly reason: string }>;
/** A target device was commanded to swap to `modelId` (attempt 1, 2… after retries). */
export type TargetUpdateRequested = Dist<'TargetUpdateRequested', {
  readonly deviceId: string; readonly commandId: string; readonly wave: number; readonly modelId: string; readonly attempt: number;
  /** What the device ran before, for its rollback. */
  readonly fromModelId?: string;
}>;
/** The device reported the new model serving; its health window starts now. */
export type TargetSwapped = Dist<'TargetSwapped', { readonly deviceId: string; readonly commandId: string; readonly swapMs: number }>;
/** The device served within the success criteria for its health window: it counts as updated. */
export type TargetUpdateSucceeded = Dist<'TargetUpdateSucceeded', {
  readonly deviceId: string; readonly commandId: string; readonly swapMs: number;
  readonly health: { readonly samples: number; readonly errorRate: number; readonly latencyP99Ms: number | null };
}>;
/** An attempt failed; `retryAt` is set when another attempt follows. */
export type TargetUpdateFailed = Dist<'TargetUpdateFailed', {
  readonly deviceId: string; readonly commandId: string; readonly reason: string; readonly attempt: number; readonly retryAt?: string;
}>;
export type DegradationDetected = Dist<'DegradationDetected', {
  readonly trigger: DegradationTrigger; readonly detail: string; readonly by: string;
  readonly group?: string; readonly modelId?: string; readonly baseline?: number; readonly observed?: number;
  readonly threshold?: number; readonly samples?: number;
}>;
export type RollbackStarted = Dist<'RollbackStarted', { readonly by: string; readonly reason: string }>;
export type TargetRollbackRequested = Dist<'TargetRollbackRequested', { readonly deviceId: string; readonly commandId: string; readonly toModelId: string }>;
export type TargetRolledBack = Dist<'TargetRolledBack', { readonly deviceId: string; readonly commandId: string }>;
export type TargetRollbackFailed = Dist<'TargetRollbackFailed', { readonly deviceId: string; readonly commandId: string; readonly reason: string }>;
export type DistributionRolledBack = Dist<'DistributionRolledBack', { readonly rolledBack: number; readonly failed: number }>;
export type AbTestConcluded = Dist<'AbTestConcluded', {
  readonly metric: AbMetric; readonly winner: 'A' | 'B' | null; readonly pValue: number | null;
  readonly samplesA: number; readonly samplesB: number; readonly valueA: number | null; readonly valueB: number | null; readonly detail: string;
}>;
export type DistributionSucceeded = Dist<'DistributionSucceeded', { readonly updated: number }>;
export type DistributionFailed = Dist<'DistributionFailed', { readonly reason: string; readonly updated: number; readonly failed: number }>;

export type DistributionEvent =
  | DistributionCreated | DistributionStarted | TargetsAdded | WaveStarted | WaveCompleted | ApprovalRequested
  | DistributionApproved | DistributionPaused | DistributionResumed | DistributionPromoted | DistributionCancelled | DistributionTakenOver
  | TargetUpdateRequested | TargetSwapped | TargetUpdateSucceeded | TargetUpdateFailed | DegradationDetected
  | RollbackStarted | TargetRollbackRequested | TargetRolledBack | TargetRollbackFailed | DistributionRolledBack
  | AbTestConcluded | DistributionSucceeded | DistributionFailed;

// ── Dataset ──────────────────────────────────────────────────────────────────
/** A labelled test dataset was stored (`datasets/<datasetId>.json`) for the validator's accuracy step. */
export type DatasetRegistered = DomainEvent<'DatasetRegistered', {
  readonly datasetId: string;
  readonly name: string;
  readonly task: DatasetTask;
  /** Absolute tolerance of a regression dataset. */
  readonly tolerance?: number;
  /** The model output compared with the labels; the model's first output when unset. */
  readonly output?: string;
  readonly inputs: readonly DatasetInputSpec[];
  readonly samples: number;
  readonly artifactKey: string;
  /** SHA-256 of the stored dataset file. */
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly registeredAt: string;
}>;

export type DatasetEvent = DatasetRegistered;

export type HotSwapEvent = ModelEvent | DeviceEvent | DistributionEvent | DatasetEvent;
export type HotSwapEventType = HotSwapEvent['type'];

export const EVENT_SCHEMA_VERSIONS: { readonly [T in HotSwapEventType]: number } = {
  ModelUploaded: 1,
  ModelValidationStarted: 1,
  ModelValidationStepRecorded: 1,
  ModelValidated: 1,
  ModelRejected: 1,
  ModelDeprecated: 1,
  ModelVersionDeleted: 1,
  DeviceRegistered: 1,
  DeviceCameOnline: 1,
  DeviceWentOffline: 1,
  DeviceUpdateStarted: 1,
  DeviceModelActivated: 1,
  DeviceUpdateFailed: 1,
  DeviceDeregistered: 1,
  // v2: waves, execution policy and the strategy's settings (issue 5); v1 streams predate the product's first release.
  DistributionCreated: 2,
  DistributionStarted: 1,
  TargetsAdded: 1,
  WaveStarted: 1,
  WaveCompleted: 1,
  ApprovalRequested: 1,
  DistributionApproved: 1,
  DistributionPaused: 1,
  DistributionResumed: 1,
  DistributionPromoted: 1,
  DistributionCancelled: 1,
  DistributionTakenOver: 1,
  TargetUpdateRequested: 2,
  TargetSwapped: 1,
  TargetUpdateSucceeded: 2,
  TargetUpdateFailed: 2,
  DegradationDetected: 1,
  RollbackStarted: 1,
  TargetRollbackRequested: 1,
  TargetRolledBack: 1,
  TargetRollbackFailed: 1,
  DistributionRolledBack: 1,
  AbTestConcluded: 1,
  DistributionSucceeded: 1,
  DistributionFailed: 1,
  DatasetRegistered: 1,
};

/** Event-store stream names: `<aggregate>-<id>`. */
export const Streams = {
  model: (modelId: string) => `model-${modelId}`,
  device: (deviceId: string) => `device-${deviceId}`,
  distribution: (distributionId: string) => `distribution-${distributionId}`,
  dataset: (datasetId: string) => `dataset-${datasetId}`,
} as const;

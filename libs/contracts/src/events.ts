import type { ValidationReportView } from './messages.js';
import type {
  DatasetInputSpec, DatasetTask, DeviceCapabilities, Framework, RollbackPolicy, Strategy, SuccessCriteria, TensorSpec, ValidationStepResult,
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
export type DistributionCreated = DomainEvent<'DistributionCreated', {
  readonly distributionId: string;
  readonly modelId: string;
  readonly strategy: Strategy;
  /** Resolved target device ids, in rollout order. */
  readonly targets: readonly string[];
  readonly successCriteria: SuccessCriteria;
  readonly rollbackPolicy: RollbackPolicy;
  /** A rollback to an older version: its swap commands carry a signed rollback instruction. Absent otherwise. */
  readonly rollback?: boolean;
  readonly createdAt: string;
}>;
export type DistributionStarted = DomainEvent<'DistributionStarted', {
  readonly distributionId: string; readonly at: string;
}>;
/** A target device was commanded to swap. */
export type TargetUpdateRequested = DomainEvent<'TargetUpdateRequested', {
  readonly distributionId: string; readonly deviceId: string; readonly commandId: string; readonly wave: number; readonly at: string;
}>;
export type TargetUpdateSucceeded = DomainEvent<'TargetUpdateSucceeded', {
  readonly distributionId: string; readonly deviceId: string; readonly commandId: string; readonly swapMs: number; readonly at: string;
}>;
export type TargetUpdateFailed = DomainEvent<'TargetUpdateFailed', {
  readonly distributionId: string; readonly deviceId: string; readonly commandId: string; readonly reason: string; readonly at: string;
}>;
export type DistributionSucceeded = DomainEvent<'DistributionSucceeded', {
  readonly distributionId: string; readonly at: string; readonly updated: number;
}>;
export type DistributionFailed = DomainEvent<'DistributionFailed', {
  readonly distributionId: string; readonly at: string; readonly reason: string; readonly updated: number; readonly failed: number;
}>;

export type DistributionEvent =
  | DistributionCreated | DistributionStarted | TargetUpdateRequested | TargetUpdateSucceeded
  | TargetUpdateFailed | DistributionSucceeded | DistributionFailed;

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
  DistributionCreated: 1,
  DistributionStarted: 1,
  TargetUpdateRequested: 1,
  TargetUpdateSucceeded: 1,
  TargetUpdateFailed: 1,
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

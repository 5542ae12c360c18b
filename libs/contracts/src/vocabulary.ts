/** The closed vocabularies shared by the API, events, read models and docs. */

export const FRAMEWORKS = ['onnx', 'tensorflow', 'pytorch', 'zip'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const MODEL_STATUSES = ['Uploaded', 'Validating', 'Validated', 'Rejected', 'Deprecated'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export const STRATEGIES = ['Direct', 'RegionalRollout', 'Canary', 'ABTesting', 'ProgressiveRollout'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const DISTRIBUTION_STATUSES = [
  'Scheduled', 'PendingApproval', 'Running', 'Paused', 'Succeeded', 'Failed', 'RollingBack', 'RolledBack', 'Cancelled',
] as const;
export type DistributionStatus = (typeof DISTRIBUTION_STATUSES)[number];

export const DEVICE_STATUSES = ['Online', 'Offline', 'Updating', 'Degraded'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export const ROLES = ['Admin', 'ModelDeveloper', 'Operator', 'Viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a degradation does: `Automatic` pauses and rolls the updated devices back, `Freeze` pauses
 * and leaves them as they are, `Manual` only alerts and records it (the rollout goes on).
 */
export const ROLLBACK_POLICIES = ['Automatic', 'Freeze', 'Manual'] as const;
export type RollbackPolicy = (typeof ROLLBACK_POLICIES)[number];

/**
 * How a device receives artifact bytes: `http` (the artifact URL: gateway or bucket) or `nats`
 * (chunks requested over its own device-plane subject, for sites reachable only through a leaf node).
 */
export const ARTIFACT_TRANSPORTS = ['http', 'nats'] as const;
export type ArtifactTransport = (typeof ARTIFACT_TRANSPORTS)[number];
/** A distribution's choice: `auto` follows each device's `transport` capability. */
export const TRANSPORT_CHOICES = ['auto', ...ARTIFACT_TRANSPORTS] as const;
export type TransportChoice = (typeof TRANSPORT_CHOICES)[number];

export interface DeviceCapabilities {
  readonly cpuCores: number;
  readonly gpu: boolean;
  readonly memoryMb: number;
  readonly storageMb: number;
  /** How the device receives artifacts (`nats`: a site with no HTTP route); absent means `http`. */
  readonly transport?: ArtifactTransport;
}

export interface TensorSpec {
  readonly name: string;
  /** onnx element type name, e.g. `float32`. */
  readonly type: string;
  /** Dimensions; a symbolic or unknown dimension is a string or -1. */
  readonly shape: ReadonlyArray<number | string>;
}

export interface SuccessCriteria {
  readonly maxLatencyMs?: number;
  readonly minAccuracy?: number;
  readonly maxErrorRate?: number;
}

/** The steps of the validation pipeline, in the order they run. */
export const VALIDATION_STEPS = ['artifact', 'load', 'benchmark', 'accuracy'] as const;
export type ValidationStep = (typeof VALIDATION_STEPS)[number];

/**
 * How one validation step ended: `Completed` (it ran and measured; the quality gate judges the
 * numbers), `Failed` (it could not do its job: checksum mismatch, load error) or `Skipped` (no
 * runtime for the format, no dataset, or an earlier step failed); `detail` says why.
 */
export const VALIDATION_STEP_OUTCOMES = ['Completed', 'Failed', 'Skipped'] as const;
export type ValidationStepOutcome = (typeof VALIDATION_STEP_OUTCOMES)[number];

/** The status of a validation report (API: `GET /models/{id}/validation-report`). */
export const VALIDATION_STATUSES = ['Running', 'Passed', 'Failed'] as const;
export type ValidationStatus = (typeof VALIDATION_STATUSES)[number];

/**
 * Quality-gate thresholds; each key is also the name of the check it drives. Unset keys take the
 * defaults of the specification (p99 < 100 ms, > 10 inferences/s, < 2048 MB, accuracy > 90% of the
 * baseline, error rate < 1%).
 */
export interface ValidationThresholds {
  /** The 99th-percentile latency must be below this, in milliseconds. */
  readonly latencyP99Ms?: number;
  /** Throughput must be above this, in inferences per second. */
  readonly minThroughputPerSec?: number;
  /** The memory footprint (load + benchmark) must be below this, in MB (MiB). */
  readonly maxMemoryMb?: number;
  /** Accuracy must be above this fraction of the baseline's accuracy (0..1). */
  readonly minAccuracyRatio?: number;
  /** The fraction of failed inferences must be below this (0..1). */
  readonly maxErrorRate?: number;
}

/** One quality-gate check: what it demanded, what was measured, and whether it passed. */
export interface ValidationCheck {
  /** A threshold key (`latencyP99Ms`, …) or a structural check (`checksum`, `format`, `runtimeAvailable`, `load`). */
  readonly name: string;
  readonly threshold: number | string | boolean;
  /** `null` when the step that measures it did not run. */
  readonly actual: number | string | boolean | null;
  readonly passed: boolean;
}

/** Latency percentiles in milliseconds. */
export interface LatencyPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** What a validation step measured; each step fills the fields it is about. */
export interface ValidationMeasurements {
  /** SHA-256 of the stored bytes (artifact step). */
  readonly sha256?: string;
  /** The format found in the bytes, e.g. `onnx` (artifact step). */
  readonly format?: string;
  /** Time to create the inference session, in ms (load step). */
  readonly loadMs?: number;
  /** Resident-memory growth of the validator, in MB (load and benchmark steps). */
  readonly memoryMb?: number;
  readonly inferences?: number;
  readonly latencyMs?: LatencyPercentiles;
  readonly throughputPerSec?: number;
  /** Process CPU time over wall time during the benchmark, in percent of one core. */
  readonly cpuPercent?: number;
  /** Failed inferences / inferences (benchmark step). */
  readonly errorRate?: number;
  /** Fraction of dataset samples answered correctly (accuracy step). */
  readonly accuracy?: number;
  /** Macro-averaged precision over the label classes (accuracy step, classification datasets). */
  readonly precision?: number;
  /** Macro-averaged recall over the label classes (accuracy step, classification datasets). */
  readonly recall?: number;
  /** Samples of the dataset run through the model (accuracy step). */
  readonly samples?: number;
  /** The dataset of the accuracy step. */
  readonly datasetId?: string;
  /** Accuracy of the baseline (latest validated version of the same name) on the same dataset, when there is one. */
  readonly baselineAccuracy?: number;
  /** The id of that baseline model. */
  readonly baselineModelId?: string;
  /** The device that ran the step (load and benchmark steps dispatched to a device tagged `validation`). */
  readonly ranOn?: string;
}

/**
 * What a dataset's labels mean. `classification`: each label is a class index, a sample is right
 * when the argmax of the model's output is that index (a one-value output is rounded instead).
 * `regression`: each label is the expected output (a number or a flat list), right when every
 * value is within the dataset's absolute `tolerance`.
 */
export const DATASET_TASKS = ['classification', 'regression'] as const;
export type DatasetTask = (typeof DATASET_TASKS)[number];

/** Element types a dataset input may have (onnx tensor type names). */
export const DATASET_ELEMENT_TYPES = ['float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool'] as const;
export type DatasetElementType = (typeof DATASET_ELEMENT_TYPES)[number];

/** One input of a dataset: the model input it feeds, its element type and the dims of ONE sample. */
export interface DatasetInputSpec {
  readonly name: string;
  readonly type: DatasetElementType;
  readonly dims: readonly number[];
}

/** The result of one validation step, as recorded in `ModelValidationStepRecorded`. */
export interface ValidationStepResult {
  readonly step: ValidationStep;
  readonly outcome: ValidationStepOutcome;
  readonly durationMs: number;
  /** Why it failed or was skipped, in a sentence. */
  readonly detail?: string;
  readonly measurements: ValidationMeasurements;
}

import type {
  AbMetric, DegradationTrigger, DistributionRequest, DistributionVerb, ExcludedTarget, ExecutionPolicy, TargetStatus, WaveView,
} from './distribution.js';
import type { ModelMetadata } from './events.js';
import type {
  ArtifactTransport, DatasetInputSpec, DatasetTask, DeviceCapabilities, DeviceStatus, DistributionStatus, Framework, LatencyPercentiles, ModelStatus, RollbackPolicy, Strategy,
  SuccessCriteria, ValidationCheck, ValidationStatus, ValidationStepResult, ValidationThresholds,
} from './vocabulary.js';

/**
 * Payloads of the internal commands and queries (`hotswap.cmd.*`, `hotswap.qry.*`) and the views
 * they return. The REST API returns the same views.
 */

/** Who asks: the JWT subject of a user, or `system:<service>`. */
export interface Actor {
  readonly actor: string;
}

export interface UploadModelCommand extends Actor {
  readonly name: string;
  readonly version: string;
  readonly framework: Framework;
  /** Where the gateway streamed the artifact; the registry checks it and moves it into place. */
  readonly stagingKey: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly metadata: ModelMetadata;
}

/** `validate-model`: (re-)validate a model, optionally with stricter or looser thresholds. */
export interface ValidateModelCommand extends Actor {
  readonly modelId: string;
  /** Overrides of the validator's default thresholds, for this run only. */
  readonly thresholds?: ValidationThresholds;
  /** A labelled dataset for the accuracy step. */
  readonly datasetId?: string;
  /**
   * Where the load test and benchmark run: `true` on any Online device tagged `validation`, a device
   * id on that device, `false` in the validator; the validator's configured default when unset.
   */
  readonly onDevice?: boolean | string;
}

/** The reply to `validate-model` (HTTP 202): the run started; poll the report. */
export interface ValidationStartedReply extends CreatedReply {
  readonly validationId: string;
}

/**
 * The report of a model's latest validation run (`GET /api/v1/models/{id}/validation-report`).
 * Measurements are `null` when the step measuring them did not run (no runtime for the format, or
 * the run stopped at a failed step); `notes` says why.
 */
export interface ValidationReportView {
  readonly modelId: string;
  readonly validationId: string;
  readonly status: ValidationStatus;
  readonly latencyMs: LatencyPercentiles | null;
  readonly throughputPerSec: number | null;
  readonly memoryMb: number | null;
  /** Only when a dataset was attached. */
  readonly accuracy?: number;
  /** Macro-averaged, only for a classification dataset. */
  readonly precision?: number;
  /** Macro-averaged, only for a classification dataset. */
  readonly recall?: number;
  /** The dataset of the accuracy step, when one was attached. */
  readonly datasetId?: string;
  /** The baseline's accuracy on the same dataset, when there is a baseline. */
  readonly baselineAccuracy?: number;
  /** The baseline: the latest Validated version of the same model name. */
  readonly baselineModelId?: string;
  readonly errorRate: number | null;
  /** Empty while running; every check of the quality gate once finished. */
  readonly checks: readonly ValidationCheck[];
  /** The thresholds in force, defaults filled in. */
  readonly thresholds: Required<ValidationThresholds>;
  readonly steps: readonly ValidationStepResult[];
  /** `validator`, or the id of the device that ran the load test and benchmark. */
  readonly ranOn: string;
  readonly notes: readonly string[];
  readonly startedAt: string;
  readonly finishedAt?: string;
}

/**
 * Where the gateway staged a dataset body in the artifact store: one JSON document
 * `{ inputs, labels }`, or one NPY file per input and one for the labels.
 */
export type StagedDataset =
  | { readonly format: 'json'; readonly key: string }
  | { readonly format: 'npy'; readonly inputs: Readonly<Record<string, string>>; readonly labels: string };

/** `register-dataset`: check a staged labelled dataset and store it; the staged files are removed either way. */
export interface RegisterDatasetCommand extends Actor {
  readonly name: string;
  /** Default `classification`. */
  readonly task?: DatasetTask;
  /** Absolute tolerance of a regression dataset; default 0.001. */
  readonly tolerance?: number;
  /** The model output compared with the labels; the model's first output by default. */
  readonly output?: string;
  readonly staged: StagedDataset;
}

/** A registered dataset (`GET /api/v1/datasets/{id}`), without its samples. */
export interface DatasetView {
  readonly id: string;
  readonly name: string;
  readonly task: DatasetTask;
  readonly tolerance?: number;
  readonly output?: string;
  readonly inputs: readonly DatasetInputSpec[];
  readonly samples: number;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly registeredAt: string;
  readonly registeredBy: string;
}

/** `deprecate-model-version`, `delete-model-version`, `rollback-model-version`: one version of a model name. */
export interface ModelVersionCommand extends Actor {
  readonly name: string;
  readonly version: string;
}

export interface DeprecateModelVersionCommand extends ModelVersionCommand {
  /** Why it is deprecated; kept in the `ModelDeprecated` event and shown on the version. */
  readonly reason?: string;
}

/** The reply to `delete-model-version`: what was deleted, when and by whom. */
export interface ModelVersionDeletedReply {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly status: 'Deleted';
  readonly deletedAt: string;
  readonly deletedBy: string;
}

export interface ModelVersionQuery {
  readonly name: string;
  readonly version: string;
}

export interface ListModelVersionsQuery {
  readonly name: string;
}

/** `GET /api/v1/models/{name}/versions`: every version of the name, newest (semver) first. */
export interface ModelVersionsView {
  readonly name: string;
  readonly items: ModelView[];
  readonly total: number;
}

export interface DistributionsUsingModelQuery {
  readonly modelId: string;
}

/** The distributions of a model that have not finished (any status but Succeeded and Failed). */
export interface DistributionsUsingModelView {
  readonly items: ReadonlyArray<{ readonly id: string; readonly status: DistributionStatus }>;
}

export interface CreateDistributionCommand extends Actor, DistributionRequest {
  /**
   * Internal, set only by the registry's rollback to a version (not accepted over REST): devices
   * may go back to an older version, so each swap command carries a signed rollback instruction.
   */
  readonly rollback?: boolean;
}

/** `plan-distribution`: the dry run of a `create-distribution`. */
export type PlanDistributionQuery = CreateDistributionCommand;

/** `control-distribution`: an operator verb on a distribution. */
export interface ControlDistributionCommand extends Actor {
  readonly id: string;
  readonly verb: DistributionVerb;
  readonly reason?: string;
}

/** `report-degradation`: the monitor (or an operator) saw the new model do worse. */
export interface ReportDegradationCommand extends Actor {
  readonly distributionId: string;
  readonly trigger: DegradationTrigger;
  /** The monitoring group where it was seen (`canary`, `B`, a region…). */
  readonly group?: string;
  readonly modelId?: string;
  /** The figure on the old model or the control group, and on the new one. */
  readonly baseline?: number;
  readonly observed?: number;
  /** The limit that was crossed (e.g. 1.2 × baseline). */
  readonly threshold?: number;
  readonly samples?: number;
  readonly detail: string;
}

export interface RegisterDeviceCommand extends Actor {
  /** Chosen by the caller, or generated (`dev-<random>`). */
  readonly id?: string;
  readonly deviceType: string;
  readonly region: string;
  readonly capabilities: DeviceCapabilities;
  readonly tags?: readonly string[];
}

/** `201` of `POST /api/v1/devices`: the device's id and its NATS credentials. */
export interface DeviceRegistration {
  readonly id: string;
  /** The device's NATS `.creds` (user JWT + seed), allowed only its own subjects. */
  readonly token: string;
  /** The inbox prefix the device must connect with. */
  readonly inboxPrefix: string;
  /**
   * When the credentials expire (ISO 8601); the device renews them on `.credentials` before then.
   * Absent when the registry issues credentials without expiry.
   */
  readonly expiresAt?: string;
}

/** `update-device` (`PUT /api/v1/devices/{id}`): the attributes given replace the recorded ones. */
export interface UpdateDeviceCommand extends Actor {
  readonly id: string;
  readonly deviceType?: string;
  readonly region?: string;
  readonly capabilities?: DeviceCapabilities;
  readonly tags?: readonly string[];
}

/** `deregister-device` (`DELETE /api/v1/devices/{id}`). */
export interface DeregisterDeviceCommand extends Actor {
  readonly id: string;
}

/** One telemetry window as the monitor keeps it (see `TelemetryWindow` on the device plane). */
export interface TelemetryWindowView {
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly count: number;
  readonly errors: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly histogram?: { readonly boundsMs: readonly number[]; readonly counts: readonly number[] };
  readonly accuracy?: number;
  readonly labelled?: number;
}

/** `GET /api/v1/devices/{id}/metrics`: the latest windows per model version, newest first. */
export interface DeviceMetricsView {
  readonly deviceId: string;
  readonly models: ReadonlyArray<{
    readonly modelId: string;
    readonly windows: readonly TelemetryWindowView[];
  }>;
}

export interface CreatedReply {
  readonly id: string;
  readonly status: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

export interface PageQuery {
  readonly limit?: number;
  readonly offset?: number;
}

export interface ListModelsQuery extends PageQuery {
  readonly name?: string;
  readonly status?: ModelStatus;
}

export interface ListDevicesQuery extends PageQuery {
  readonly region?: string;
  readonly deviceType?: string;
  readonly status?: DeviceStatus;
  readonly tag?: string;
  readonly modelId?: string;
  /** Capability filters: devices with (or without) a GPU, and at least this much memory, cores, storage. */
  readonly gpu?: boolean;
  readonly minMemoryMb?: number;
  readonly minCpuCores?: number;
  readonly minStorageMb?: number;
  /** Devices that receive artifacts this way; one that reports no transport counts as `http`. */
  readonly transport?: ArtifactTransport;
}

export interface ByIdQuery {
  readonly id: string;
}

/** `Queries.getDistributionStatus`: a distribution, with a page of its per-device rows. */
export interface DistributionStatusQuery extends ByIdQuery {
  readonly devicesOffset?: number;
  readonly devicesLimit?: number;
}

export interface ModelView {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly framework: Framework;
  readonly status: ModelStatus;
  readonly checksum: string;
  readonly sizeBytes: number;
  readonly metadata: ModelMetadata;
  readonly uploadedAt: string;
  readonly uploadedBy: string;
  /** Set once the version is `Deprecated`. */
  readonly deprecatedAt?: string;
  readonly deprecatedBy?: string;
  readonly deprecationReason?: string;
}

export interface ModelArtifactView {
  readonly modelId: string;
  readonly name: string;
  readonly version: string;
  readonly artifactKey: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

export interface DeviceView {
  readonly id: string;
  readonly deviceType: string;
  readonly region: string;
  readonly capabilities: DeviceCapabilities;
  readonly tags: string[];
  readonly currentModelId: string | null;
  readonly status: DeviceStatus;
  readonly lastHeartbeat: string | null;
  /** Swap time the device reported for its current model. */
  readonly lastSwapMs: number | null;
}

export interface DistributionStatusView {
  readonly id: string;
  readonly modelId: string;
  readonly strategy: Strategy;
  readonly status: DistributionStatus;
  /** The wave running or waiting now, by name (`canary`, `eu-west-1`, `stage-2`…). */
  readonly stage?: string;
  readonly progress: {
    readonly total: number;
    readonly updated: number;
    readonly failed: number;
    /** Not yet verified: Pending, Requested, Verifying or Retrying. */
    readonly pending: number;
    readonly rolledBack: number;
  };
  readonly waves: readonly WaveView[];
  readonly devices: ReadonlyArray<{
    readonly deviceId: string;
    readonly state: TargetStatus;
    readonly wave: number;
    readonly modelId?: string;
    readonly attempt?: number;
    readonly swapMs?: number;
    readonly reason?: string;
  }>;
  /** Which rows `devices` holds: `devicesOffset`/`devicesLimit` of the query (default the first `MAX_STATUS_DEVICES`), of `total` targets. */
  readonly devicesPage: { readonly offset: number; readonly limit: number; readonly total: number };
  readonly excluded: readonly ExcludedTarget[];
  readonly rollbackPolicy: RollbackPolicy;
  readonly successCriteria: SuccessCriteria;
  readonly execution: ExecutionPolicy;
  readonly createdAt: string;
  readonly startAt?: string;
  /** Set once it started; `createdAt` before. */
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** Why it failed, was paused, cancelled or rolled back. */
  readonly reason?: string;
  /** Operator decisions and automatic triggers, oldest first. */
  readonly history: ReadonlyArray<{ readonly at: string; readonly action: string; readonly by: string; readonly detail?: string }>;
  readonly degradation?: { readonly trigger: DegradationTrigger; readonly detail: string; readonly at: string };
  readonly abTest?: AbTestResultView;
}

/** The monitor's comparison of an A/B test's groups. */
export interface AbTestResultView {
  readonly metric: AbMetric;
  /** `null` while inconclusive (too few samples or no significant difference). */
  readonly winner: 'A' | 'B' | null;
  readonly pValue: number | null;
  readonly samplesA: number;
  readonly samplesB: number;
  /** The metric per group: accuracy or error rate (0..1), or median latency in ms. */
  readonly valueA: number | null;
  readonly valueB: number | null;
  readonly detail: string;
}

/** `get-target-health`: each device's figures on `modelId` since `since` (its swap). */
export interface TargetHealthQuery {
  readonly targets: ReadonlyArray<{ readonly deviceId: string; readonly modelId: string; readonly since: string }>;
}

export interface TargetHealthView {
  readonly items: ReadonlyArray<{
    readonly deviceId: string;
    readonly samples: number;
    readonly errors: number;
    /** null without samples. */
    readonly latencyP99Ms: number | null;
    readonly accuracy: number | null;
    readonly labelled: number;
  }>;
}

/** Figures of one monitoring group on one model version. */
export interface GroupMetricsView {
  readonly group: string;
  readonly modelId: string;
  readonly devices: number;
  readonly samples: number;
  readonly errorRate: number | null;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number } | null;
  readonly accuracy: number | null;
  readonly throughputPerSec: number;
}

/** `GET /api/v1/distributions/{id}/metrics`. */
export interface DistributionMetricsView {
  readonly distributionId: string;
  readonly groups: readonly GroupMetricsView[];
  /** The figures the new model is compared with (control group or the same devices before their swap). */
  readonly baseline: readonly GroupMetricsView[];
  /** One point per interval per group and model, oldest first. */
  readonly series: ReadonlyArray<{
    readonly at: string;
    readonly group: string;
    readonly modelId: string;
    readonly samples: number;
    readonly errorRate: number | null;
    readonly latencyP99Ms: number | null;
    readonly accuracy: number | null;
  }>;
  readonly degradation?: { readonly trigger: DegradationTrigger; readonly detail: string; readonly at: string };
}

/** Error codes carried by rejected replies; the gateway maps them to HTTP statuses. */
export const ERROR_CODES = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE: 422,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

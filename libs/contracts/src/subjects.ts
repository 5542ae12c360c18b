import { decodeSubjectToken, encodeSubjectToken } from './ids.js';

/**
 * Every NATS subject HotSwap uses, declared once. Ids pass through `encodeSubjectToken`.
 *
 * - `hotswap.cmd.<service>.<name>`: commands, request/reply.
 * - `hotswap.qry.<service>.<name>`: queries, request/reply, served by a queue group.
 * - `hotswap.events.<aggregate>.<id>`: domain events (JetStream `HOTSWAP_EVENTS`).
 * - `hotswap.device.<deviceId>.*`: the device plane, core NATS only.
 */
export const Services = {
  modelRegistry: 'model-registry',
  validator: 'validator',
  distributor: 'distributor',
  deviceRegistry: 'device-registry',
  monitor: 'monitor',
} as const;
export type ServiceName = (typeof Services)[keyof typeof Services];

export const Commands = {
  uploadModel: `hotswap.cmd.${Services.modelRegistry}.upload-model`,
  createDistribution: `hotswap.cmd.${Services.distributor}.create-distribution`,
  /** `ControlDistributionCommand`: pause, resume, approve, cancel, rollback or promote. */
  controlDistribution: `hotswap.cmd.${Services.distributor}.control-distribution`,
  /** `ReportDegradationCommand`: the monitor saw a distribution's new model do worse than its baseline. */
  reportDegradation: `hotswap.cmd.${Services.distributor}.report-degradation`,
  /** An operator or a provisioning system registers a device ahead of its first connection. */
  registerDevice: `hotswap.cmd.${Services.deviceRegistry}.register-device`,
  /** An operator changes a device's type, region, capabilities or tags (`PUT /api/v1/devices/{id}`). */
  updateDevice: `hotswap.cmd.${Services.deviceRegistry}.update-device`,
  /** An admin deletes a device from the fleet; its credentials stop being renewed (`DELETE /api/v1/devices/{id}`). */
  deregisterDevice: `hotswap.cmd.${Services.deviceRegistry}.deregister-device`,
  validateModel: `hotswap.cmd.${Services.validator}.validate-model`,
  /** `{ name, version }`: see `ModelVersionCommand`. */
  deprecateModelVersion: `hotswap.cmd.${Services.modelRegistry}.deprecate-model-version`,
  deleteModelVersion: `hotswap.cmd.${Services.modelRegistry}.delete-model-version`,
  /** Creates a Direct distribution of the version to the devices running any version of its name. */
  rollbackModelVersion: `hotswap.cmd.${Services.modelRegistry}.rollback-model-version`,
  /** Takes a staged labelled dataset, checks it and stores it (`POST /api/v1/datasets`). */
  registerDataset: `hotswap.cmd.${Services.validator}.register-dataset`,
  // ── Audit, retention, TLS (issue 6) ──
  /** `{ actor, dryRun }` → `RetentionReport`: deletes the model versions the retention policy no longer keeps. */
  applyRetentionPolicy: `hotswap.cmd.${Services.modelRegistry}.apply-retention-policy`,
  /** `DriveDeviceCommand` → `DriveDeviceReply`: to the distributor instance that drives the device (device affinity). */
  driveDevice: (instanceId: string) => `hotswap.cmd.${Services.distributor}.drive-device.${encodeSubjectToken(instanceId)}`,
} as const;

export const Queries = {
  getModel: `hotswap.qry.${Services.modelRegistry}.get-model`,
  /** Internal: where a model's artifact is stored, for services that hand out download URLs. */
  getModelArtifact: `hotswap.qry.${Services.modelRegistry}.get-model-artifact`,
  listModels: `hotswap.qry.${Services.modelRegistry}.list-models`,
  /** `{ name }` → `ModelVersionsView`, newest version first. */
  listModelVersions: `hotswap.qry.${Services.modelRegistry}.list-model-versions`,
  /** `{ name, version }` → `ModelView`. */
  getModelVersion: `hotswap.qry.${Services.modelRegistry}.get-model-version`,
  getDevice: `hotswap.qry.${Services.deviceRegistry}.get-device`,
  listDevices: `hotswap.qry.${Services.deviceRegistry}.list-devices`,
  getDistributionStatus: `hotswap.qry.${Services.distributor}.get-distribution-status`,
  /** `{ status?, modelId?, limit?, offset? }` → `Page<DistributionStatusView>` without devices. */
  listDistributions: `hotswap.qry.${Services.distributor}.list-distributions`,
  /** `PlanDistributionQuery` → `DistributionPlanView`: the dry run of create-distribution. */
  planDistribution: `hotswap.qry.${Services.distributor}.plan-distribution`,
  /** `{ id }` → `DistributionMetricsView`: per group and model version, with the baseline and a time series. */
  getDistributionMetrics: `hotswap.qry.${Services.monitor}.get-distribution-metrics`,
  /** `TargetHealthQuery` → `TargetHealthView`: each device's figures since its swap (health windows). */
  getTargetHealth: `hotswap.qry.${Services.monitor}.get-target-health`,
  /** `{ id }` → `AbTestResultView`: the statistical comparison of an A/B test's groups. */
  getAbTestResult: `hotswap.qry.${Services.monitor}.get-ab-test-result`,
  /** `{ modelId }` → `DistributionsUsingModelView`: the distributions of the model not yet finished. */
  distributionsUsingModel: `hotswap.qry.${Services.distributor}.distributions-using-model`,
  /** The latest validation report of a model (`{ id }` = model id). */
  getValidationReport: `hotswap.qry.${Services.validator}.get-validation-report`,
  /** A registered dataset (`{ id }` = dataset id), without its samples. */
  getDataset: `hotswap.qry.${Services.validator}.get-dataset`,
  /** The latest telemetry windows of a device, per model (`{ id }` = device id). */
  getDeviceMetrics: `hotswap.qry.${Services.monitor}.get-device-metrics`,
  health: (service: ServiceName) => `hotswap.qry.${service}.health`,
  // ── Audit, retention, TLS (issue 6) ──
  /** `AuditQuery` → `AuditPage`: the audit trail read from the event store, newest first. */
  listAuditEntries: `hotswap.qry.${Services.monitor}.list-audit-entries`,
} as const;

export const EVENTS_STREAM = 'HOTSWAP_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'hotswap.events';

export const DeviceSubjects = {
  /** control plane → device: swap / rollback, acked by reply. */
  command: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.cmd`,
  /** device → control plane, request on every (re)connect; the reply names the desired model. */
  sync: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.sync`,
  /** device → control plane, request: the device announces itself (type, region, capabilities). */
  register: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.register`,
  heartbeat: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.heartbeat`,
  status: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.status`,
  telemetry: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.telemetry`,
  /** device → control plane, request: fresh NATS credentials before the current ones expire; refused once deregistered. */
  credentials: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.credentials`,
  /** validator → device, request: load a model beside the serving one (never swapped in) and benchmark it. */
  validate: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.validate`,
  /** device → control plane: the agent's warning and error log lines (rate-limited), for central logging. */
  log: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.log`,
  /**
   * device → control plane, request: one chunk of an artifact (`ArtifactChunkRequest`), the NATS
   * transport. On the device's own subject, so its credentials' permissions still hold.
   */
  artifact: (deviceId: string) => `hotswap.device.${encodeSubjectToken(deviceId)}.artifact`,
  /** Wildcards the control plane subscribes to. */
  all: {
    artifact: 'hotswap.device.*.artifact',
    sync: 'hotswap.device.*.sync',
    register: 'hotswap.device.*.register',
    heartbeat: 'hotswap.device.*.heartbeat',
    status: 'hotswap.device.*.status',
    telemetry: 'hotswap.device.*.telemetry',
    credentials: 'hotswap.device.*.credentials',
    log: 'hotswap.device.*.log',
  },
} as const;

/** The device id token of a device-plane subject (`hotswap.device.<id>.<kind>`). */
export function deviceIdOfSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts.length === 4 && parts[0] === 'hotswap' && parts[1] === 'device' ? safeDecode(parts[2]) : undefined;
}

/** KV bucket holding each device's desired model, key = device id. */
export const DESIRED_STATE_BUCKET = 'hotswap-desired';

/** KV bucket of devices claimed by an active distribution (key = device id, value = distribution id): one rollout per device at a time. */
export const TARGET_CLAIMS_BUCKET = 'hotswap-target-claims';

/** KV bucket of distribution owners (key = distribution id): which distributor instance drives it, renewed while alive. */
export const DISTRIBUTION_OWNERS_BUCKET = 'hotswap-distribution-owners';

/** KV bucket of live distributor instances (key = instance id, value = last heartbeat): the members of the device-affinity ring. */
export const DISTRIBUTOR_MEMBERS_BUCKET = 'hotswap-distributor-members';

/** Queue groups: one per service, so replicas share the work. */
export const queueGroup = (service: ServiceName) => `hotswap-${service}`;

function safeDecode(token: string): string | undefined {
  try {
    return decodeSubjectToken(token);
  } catch {
    return undefined;
  }
}

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
  /** An operator or a provisioning system registers a device ahead of its first connection. */
  registerDevice: `hotswap.cmd.${Services.deviceRegistry}.register-device`,
  validateModel: `hotswap.cmd.${Services.validator}.validate-model`,
} as const;

export const Queries = {
  getModel: `hotswap.qry.${Services.modelRegistry}.get-model`,
  /** Internal: where a model's artifact is stored, for services that hand out download URLs. */
  getModelArtifact: `hotswap.qry.${Services.modelRegistry}.get-model-artifact`,
  listModels: `hotswap.qry.${Services.modelRegistry}.list-models`,
  getDevice: `hotswap.qry.${Services.deviceRegistry}.get-device`,
  listDevices: `hotswap.qry.${Services.deviceRegistry}.list-devices`,
  getDistributionStatus: `hotswap.qry.${Services.distributor}.get-distribution-status`,
  /** The latest validation report of a model (`{ id }` = model id). */
  getValidationReport: `hotswap.qry.${Services.validator}.get-validation-report`,
  health: (service: ServiceName) => `hotswap.qry.${service}.health`,
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
  /** Wildcards the control plane subscribes to. */
  all: {
    sync: 'hotswap.device.*.sync',
    register: 'hotswap.device.*.register',
    heartbeat: 'hotswap.device.*.heartbeat',
    status: 'hotswap.device.*.status',
    telemetry: 'hotswap.device.*.telemetry',
  },
} as const;

/** The device id token of a device-plane subject (`hotswap.device.<id>.<kind>`). */
export function deviceIdOfSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts.length === 4 && parts[0] === 'hotswap' && parts[1] === 'device' ? safeDecode(parts[2]) : undefined;
}

/** KV bucket holding each device's desired model, key = device id. */
export const DESIRED_STATE_BUCKET = 'hotswap-desired';

/** Queue groups: one per service, so replicas share the work. */
export const queueGroup = (service: ServiceName) => `hotswap-${service}`;

function safeDecode(token: string): string | undefined {
  try {
    return decodeSubjectToken(token);
  } catch {
    return undefined;
  }
}

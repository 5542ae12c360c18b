import { ARTIFACT_TRANSPORTS, invalidIdReason } from '@hotswap/contracts';
import type {
  DeviceCameOnline, DeviceCapabilities, DeviceDeregistered, DeviceEvent, DeviceModelActivated, DeviceRegistered, DeviceUpdateFailed,
  DeviceUpdateStarted, DeviceWentOffline,
} from '@hotswap/contracts';
import { unknownCommand, type Command, type Decider } from '../decider.js';
import { IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import { requireNonNegativeNumber, requirePositiveInteger, requireText, requireTimestamp } from '../validation.js';
import { evolveDevice, initialDeviceState, type DeviceState, type RegisteredDevice } from './device.js';

/** A device announces itself; also sent again on every reconnect, with possibly new attributes. */
export type RegisterDevice = Command<'RegisterDevice', {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly region: string;
  readonly capabilities: DeviceCapabilities;
  /** A set: order and repeats do not matter. */
  readonly tags: readonly string[];
  /**
   * Whether the device itself is announcing (it is connected). False when an operator registers it
   * ahead of its first connection: it is then recorded, but stays Offline until it connects.
   * Default true.
   */
  readonly connected?: boolean;
}>;
export type RecordHeartbeat = Command<'RecordHeartbeat', { readonly deviceId: string }>;
/** The control plane noticed the heartbeats stopped. */
export type MarkOffline = Command<'MarkOffline', {
  readonly deviceId: string;
  /** ISO 8601 time of the last heartbeat seen. */
  readonly lastHeartbeat: string;
}>;
export type StartUpdate = Command<'StartUpdate', {
  readonly deviceId: string; readonly modelId: string; readonly distributionId: string;
}>;
/** The device reports that `modelId` now serves. */
export type ActivateModel = Command<'ActivateModel', {
  readonly deviceId: string;
  readonly modelId: string;
  readonly distributionId?: string;
  /** Time from command to the new model serving, as the device measured it. */
  readonly swapMs: number;
}>;
/** The device reports that it could not swap to `modelId` and still serves its current model. */
export type FailUpdate = Command<'FailUpdate', {
  readonly deviceId: string; readonly modelId: string; readonly distributionId?: string; readonly reason: string;
}>;

/** An operator changes the recorded attributes; those left out keep their value. */
export type UpdateDevice = Command<'UpdateDevice', {
  readonly deviceId: string;
  readonly deviceType?: string;
  readonly region?: string;
  readonly capabilities?: DeviceCapabilities;
  /** A set, replacing the recorded tags. */
  readonly tags?: readonly string[];
}>;
/** An admin deletes the device from the fleet. */
export type DeregisterDevice = Command<'DeregisterDevice', { readonly deviceId: string }>;

export type DeviceCommand =
  | RegisterDevice | RecordHeartbeat | MarkOffline | StartUpdate | ActivateModel | FailUpdate | UpdateDevice | DeregisterDevice;

/** A registration means the device is connected, so anything but Online or Updating comes online. */
function isConnected(device: RegisteredDevice): boolean {
  return device.status === 'Online' || device.status === 'Updating';
}

function validCapabilities(subject: string, capabilities: DeviceCapabilities): DeviceCapabilities {
  if (typeof capabilities !== 'object' || capabilities === null) {
    throw new InvalidCommandError(`${subject}: capabilities { cpuCores, gpu, memoryMb, storageMb } are required`);
  }
  const { cpuCores, gpu, memoryMb, storageMb, transport } = capabilities;
  if (typeof gpu !== 'boolean') throw new InvalidCommandError(`${subject}: capabilities.gpu must be true or false`);
  if (transport !== undefined && !(ARTIFACT_TRANSPORTS as readonly unknown[]).includes(transport)) {
    throw new InvalidCommandError(`${subject}: capabilities.transport must be one of ${ARTIFACT_TRANSPORTS.join(', ')}, got ${JSON.stringify(transport)}`);
  }
  return {
    cpuCores: requirePositiveInteger(subject, 'capabilities.cpuCores', cpuCores),
    gpu,
    memoryMb: requireNonNegativeNumber(subject, 'capabilities.memoryMb', memoryMb),
    storageMb: requireNonNegativeNumber(subject, 'capabilities.storageMb', storageMb),
    // Stored only when given, so a device that never said keeps the events it always had (it means http).
    ...(transport !== undefined ? { transport } : {}),
  };
}

function validTags(subject: string, tags: readonly string[]): string[] {
  if (!Array.isArray(tags)) throw new InvalidCommandError(`${subject}: tags must be a list of strings`);
  tags.forEach((tag, index) => requireText(subject, `tags[${index}]`, tag));
  return [...new Set(tags)];
}

function sameAttributes(device: RegisteredDevice, data: Omit<DeviceRegistered['data'], 'registeredAt'>): boolean {
  const tags = new Set(device.tags);
  return device.deviceType === data.deviceType
    && device.region === data.region
    && device.capabilities.cpuCores === data.capabilities.cpuCores
    && device.capabilities.gpu === data.capabilities.gpu
    && device.capabilities.memoryMb === data.capabilities.memoryMb
    && device.capabilities.storageMb === data.capabilities.storageMb
    && (device.capabilities.transport ?? 'http') === (data.capabilities.transport ?? 'http')
    && tags.size === data.tags.length
    && data.tags.every((tag) => tags.has(tag));
}

function registerDevice({ data, metadata }: RegisterDevice, state: DeviceState): DeviceEvent[] {
  const problem = invalidIdReason('device id', data.deviceId);
  if (problem !== undefined) throw new InvalidCommandError(problem);
  const subject = `device ${data.deviceId}`;
  const now = requireTimestamp(subject, 'metadata.now', metadata.now);
  // A deleted device may not re-admit itself by announcing: only a registration through the API does.
  if (state.status === 'Deregistered' && data.connected !== false) {
    throw new IllegalStateError(`device ${data.deviceId} was deregistered at ${state.deregisteredAt}; register it again through POST /api/v1/devices`);
  }
  const attributes = {
    deviceId: data.deviceId,
    deviceType: requireText(subject, 'deviceType', data.deviceType),
    region: requireText(subject, 'region', data.region),
    capabilities: validCapabilities(subject, data.capabilities),
    tags: validTags(subject, data.tags),
  };
  const known = state.status !== 'Unregistered' && state.status !== 'Deregistered' ? state : undefined;
  const registered: DeviceRegistered[] = known !== undefined && sameAttributes(known, attributes)
    ? []
    : [{ type: 'DeviceRegistered', data: { ...attributes, registeredAt: now } }];
  const cameOnline: DeviceCameOnline[] = data.connected === false || (known !== undefined && isConnected(known))
    ? []
    : [{ type: 'DeviceCameOnline', data: { deviceId: data.deviceId, at: now } }];
  return [...registered, ...cameOnline];
}

/** The registered device a command addresses, or NotFoundError (naming a deregistration). */
function registered(state: DeviceState, deviceId: string): RegisteredDevice {
  if (state.status === 'Unregistered') throw new NotFoundError(`device ${deviceId} is not registered`);
  if (state.status === 'Deregistered') throw new NotFoundError(`device ${deviceId} was deregistered at ${state.deregisteredAt}`);
  return state;
}

function updateDevice({ data, metadata }: UpdateDevice, state: DeviceState): DeviceRegistered[] {
  const device = registered(state, data.deviceId);
  const subject = `device ${data.deviceId}`;
  const now = requireTimestamp(subject, 'metadata.now', metadata.now);
  if (data.deviceType === undefined && data.region === undefined && data.capabilities === undefined && data.tags === undefined) {
    throw new InvalidCommandError(`${subject}: give at least one of deviceType, region, capabilities, tags`);
  }
  const attributes = {
    deviceId: data.deviceId,
    deviceType: data.deviceType === undefined ? device.deviceType : requireText(subject, 'deviceType', data.deviceType),
    region: data.region === undefined ? device.region : requireText(subject, 'region', data.region),
    capabilities: data.capabilities === undefined ? device.capabilities : validCapabilities(subject, data.capabilities),
    tags: data.tags === undefined ? [...device.tags] : validTags(subject, data.tags),
  };
  // DeviceRegistered records the attributes, as a re-announcement with new ones does; registeredAt
  // of the stored state stays the first registration's.
  return sameAttributes(device, attributes) ? [] : [{ type: 'DeviceRegistered', data: { ...attributes, registeredAt: now } }];
}

function deregisterDevice({ data, metadata }: DeregisterDevice, state: DeviceState): DeviceDeregistered[] {
  const at = requireTimestamp(`device ${data.deviceId}`, 'metadata.now', metadata.now);
  registered(state, data.deviceId);
  return [{ type: 'DeviceDeregistered', data: { deviceId: data.deviceId, at } }];
}

function recordHeartbeat({ data, metadata }: RecordHeartbeat, state: DeviceState): DeviceCameOnline[] {
  const device = registered(state, data.deviceId);
  const at = requireTimestamp(`device ${data.deviceId}`, 'metadata.now', metadata.now);
  // Heartbeats are frequent signals, not facts: only the Offline → Online transition is recorded.
  return device.status === 'Offline' ? [{ type: 'DeviceCameOnline', data: { deviceId: data.deviceId, at } }] : [];
}

function markOffline({ data, metadata }: MarkOffline, state: DeviceState): DeviceWentOffline[] {
  const device = registered(state, data.deviceId);
  const subject = `device ${data.deviceId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const lastHeartbeat = requireTimestamp(subject, 'lastHeartbeat', data.lastHeartbeat);
  return device.status === 'Offline' ? [] : [{ type: 'DeviceWentOffline', data: { deviceId: data.deviceId, at, lastHeartbeat } }];
}

function startUpdate({ data, metadata }: StartUpdate, state: DeviceState): DeviceUpdateStarted[] {
  const device = registered(state, data.deviceId);
  const subject = `device ${data.deviceId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const modelId = requireText(subject, 'modelId', data.modelId);
  const distributionId = requireText(subject, 'distributionId', data.distributionId);
  // A retried command finds its update already started.
  if (device.updatingTo?.modelId === modelId && device.updatingTo.distributionId === distributionId) return [];
  return [{ type: 'DeviceUpdateStarted', data: { deviceId: data.deviceId, modelId, distributionId, at } }];
}

function activateModel({ data, metadata }: ActivateModel, state: DeviceState): DeviceModelActivated[] {
  const device = registered(state, data.deviceId);
  const subject = `device ${data.deviceId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const modelId = requireText(subject, 'modelId', data.modelId);
  const swapMs = requireNonNegativeNumber(subject, 'swapMs', data.swapMs);
  if (data.distributionId !== undefined) requireText(subject, 'distributionId', data.distributionId);
  // A repeated report of the model already serving changes nothing.
  if (device.currentModelId === modelId && device.updatingTo === undefined) return [];
  return [{
    type: 'DeviceModelActivated',
    data: {
      deviceId: data.deviceId,
      modelId,
      ...(device.currentModelId !== undefined && { previousModelId: device.currentModelId }),
      ...(data.distributionId !== undefined && { distributionId: data.distributionId }),
      swapMs,
      at,
    },
  }];
}

function failUpdate({ data, metadata }: FailUpdate, state: DeviceState): DeviceUpdateFailed[] {
  registered(state, data.deviceId);
  const subject = `device ${data.deviceId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const modelId = requireText(subject, 'modelId', data.modelId);
  const reason = requireText(subject, 'reason', data.reason);
  if (data.distributionId !== undefined) requireText(subject, 'distributionId', data.distributionId);
  return [{
    type: 'DeviceUpdateFailed',
    data: {
      deviceId: data.deviceId,
      modelId,
      ...(data.distributionId !== undefined && { distributionId: data.distributionId }),
      reason,
      at,
    },
  }];
}

export function decideDevice(command: DeviceCommand, state: DeviceState): DeviceEvent[] {
  switch (command.type) {
    case 'RegisterDevice':
      return registerDevice(command, state);
    case 'RecordHeartbeat':
      return recordHeartbeat(command, state);
    case 'MarkOffline':
      return markOffline(command, state);
    case 'StartUpdate':
      return startUpdate(command, state);
    case 'ActivateModel':
      return activateModel(command, state);
    case 'FailUpdate':
      return failUpdate(command, state);
    case 'UpdateDevice':
      return updateDevice(command, state);
    case 'DeregisterDevice':
      return deregisterDevice(command, state);
    default:
      return unknownCommand(command);
  }
}

export const deviceDecider: Decider<DeviceCommand, DeviceEvent, DeviceState> = {
  decide: decideDevice,
  evolve: evolveDevice,
  initialState: initialDeviceState,
};

import type { DeviceCapabilities, DeviceEvent, DeviceStatus } from '@hotswap/contracts';

/** The update a device was asked to perform and has not yet reported on. */
export interface PendingUpdate {
  readonly modelId: string;
  readonly distributionId: string;
}

export interface RegisteredDevice {
  readonly status: DeviceStatus;
  readonly deviceId: string;
  readonly deviceType: string;
  readonly region: string;
  readonly capabilities: DeviceCapabilities;
  readonly tags: readonly string[];
  /** When the device first registered. */
  readonly registeredAt: string;
  readonly currentModelId?: string;
  readonly updatingTo?: PendingUpdate;
  /** Swap duration of the last activation, as the device measured it. */
  readonly lastSwapMs?: number;
}

/** A device deleted from the fleet; only a registration through the API brings it back. */
export interface DeregisteredDevice {
  readonly status: 'Deregistered';
  readonly deviceId: string;
  readonly deregisteredAt: string;
}

/** The device aggregate (stream `device-<deviceId>`). */
export type DeviceState = { readonly status: 'Unregistered' } | RegisteredDevice | DeregisteredDevice;

export function initialDeviceState(): DeviceState {
  return { status: 'Unregistered' };
}

/** The device's state without its pending update (an optional property is left out, not undefined). */
function withoutUpdate({ updatingTo: _done, ...device }: RegisteredDevice): RegisteredDevice {
  return device;
}

export function evolveDevice(state: DeviceState, event: DeviceEvent): DeviceState {
  const { type, data } = event;
  if (type === 'DeviceRegistered') {
    const { registeredAt, ...attributes } = data;
    // A registration reports a device, not a connection: it stays Offline until DeviceCameOnline.
    // A deregistered device registered again starts afresh.
    return state.status === 'Unregistered' || state.status === 'Deregistered'
      ? { status: 'Offline', ...attributes, registeredAt }
      : { ...state, ...attributes };
  }
  // Events before a registration (or after a deregistration) cannot come from a sound stream; they are skipped.
  if (state.status === 'Unregistered' || state.status === 'Deregistered') return state;
  switch (type) {
    case 'DeviceCameOnline':
      return { ...state, status: state.updatingTo === undefined ? 'Online' : 'Updating' };
    case 'DeviceWentOffline':
      return { ...state, status: 'Offline' };
    case 'DeviceUpdateStarted':
      // An offline device picks the update up from its desired state when it reconnects.
      return {
        ...state,
        status: state.status === 'Offline' ? 'Offline' : 'Updating',
        updatingTo: { modelId: data.modelId, distributionId: data.distributionId },
      };
    case 'DeviceModelActivated':
      return { ...withoutUpdate(state), status: 'Online', currentModelId: data.modelId, lastSwapMs: data.swapMs };
    case 'DeviceUpdateFailed':
      return { ...withoutUpdate(state), status: 'Online' };
    case 'DeviceDeregistered':
      return { status: 'Deregistered', deviceId: state.deviceId, deregisteredAt: data.at };
    default: {
      // Events of a newer schema are skipped so an older reader can still fold the stream.
      const _unknown: never = type;
      return state;
    }
  }
}

import type { NatsTrust } from '@hotswap/infrastructure';

export interface DeviceRegistryOptions {
  /** A device with no heartbeat for this long is marked Offline. Default 5 minutes. */
  readonly offlineAfterMs: number;
  /** How often silent devices are looked for. */
  readonly offlineCheckIntervalMs: number;
  /** Signs the NATS credentials of devices registered through the API; without it none are issued. */
  readonly natsTrust?: NatsTrust;
}

export const DEVICE_REGISTRY_OPTIONS = Symbol.for('hotswap.device-registry.options');

export const defaultDeviceRegistryOptions: DeviceRegistryOptions = { offlineAfterMs: 5 * 60_000, offlineCheckIntervalMs: 15_000 };

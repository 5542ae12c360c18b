import type { NatsTrust, ServiceMetrics } from '@hotswap/infrastructure';
import type { HeartbeatLimitOptions } from './heartbeat-limit/heartbeat-limit.options.js';

export interface DeviceRegistryOptions {
  /** A device with no heartbeat for this long is marked Offline. Default 5 minutes. */
  readonly offlineAfterMs: number;
  /** How often silent devices are looked for. */
  readonly offlineCheckIntervalMs: number;
  /** Signs the NATS credentials of devices registered through the API; without it none are issued. */
  readonly natsTrust?: NatsTrust;
  /**
   * Lifetime of the device credentials the registry issues, in ms. Devices renew them on
   * `.credentials` while registered; a deleted device's credentials stop working at most this long
   * after its deletion (a `resolver: MEMORY` server cannot be told to revoke a user). Default 1 hour.
   */
  readonly credentialsTtlMs: number;
  /** Where the gauges `devices.online.count` and `devices.offline.count` are observed; none without it. */
  readonly metrics?: ServiceMetrics;
  /** The fleet-wide heartbeat limit (1000/min by default, shared through NATS KV); `perMinute: 0` turns it off. */
  readonly heartbeatLimit?: Partial<HeartbeatLimitOptions>;
}

export const DEVICE_REGISTRY_OPTIONS = Symbol.for('hotswap.device-registry.options');

export const defaultDeviceRegistryOptions: DeviceRegistryOptions = { offlineAfterMs: 5 * 60_000, offlineCheckIntervalMs: 15_000, credentialsTtlMs: 60 * 60_000 };

/**
 * Many edge agents in one process, for the embedded default and for scale tests. Each simulated
 * device is a full EdgeAgent with its own NATS connection and its own data directory; devices
 * running identical artifacts share one onnxruntime session (a cache keyed by content hash), and
 * each can serve a synthetic inference load.
 */
import { join } from 'node:path';
import type { DeviceCapabilitiesDto } from '@hotswap/contracts';
import { EdgeAgent } from '../agent/edge-agent.js';
import type { EdgeAgentOptions, NatsPassthroughOptions } from '../agent/edge-agent-options.js';
import { SessionCache } from '../swap/session-cache.js';
import { SyntheticLoad } from './synthetic-load.js';

export interface SimulatedDeviceSpec {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly region: string;
  readonly capabilities: DeviceCapabilitiesDto;
  readonly tags?: readonly string[];
  /** The device's own NATS settings (its credentials), on top of the shared ones. */
  readonly natsOptions?: NatsPassthroughOptions;
  /** The device's own `.creds` text, renewed before it expires (see `EdgeAgentOptions.credentials`). */
  readonly credentials?: string;
}

/** Options every simulated agent shares; `dataDir` is the root, each device gets `<dataDir>/<deviceId>`. */
export type SharedAgentOptions = Omit<EdgeAgentOptions, Exclude<keyof SimulatedDeviceSpec, 'natsOptions'>>;

export interface FleetOptions extends SharedAgentOptions {
  /** Synthetic inferences per second on each device that has a model. Default 0 (none). */
  readonly syntheticLoadPerSec?: number;
}

export class UnknownSimulatedDeviceError extends Error {
  override readonly name = 'UnknownSimulatedDeviceError';
}

export class FleetSimulator {
  private readonly byId = new Map<string, EdgeAgent>();
  /** The sessions every device of the fleet loads through. */
  readonly sessions: SessionCache;
  readonly load: SyntheticLoad;
  private readonly ownsSessions: boolean;

  constructor(devices: readonly SimulatedDeviceSpec[], options: FleetOptions) {
    const { syntheticLoadPerSec = 0, ...shared } = options;
    this.ownsSessions = shared.sessionCache === undefined;
    this.sessions = shared.sessionCache ?? new SessionCache();
    for (const device of devices) {
      if (this.byId.has(device.deviceId)) throw new Error(`device ${device.deviceId} is listed twice`);
      this.byId.set(device.deviceId, new EdgeAgent({
        ...shared, ...device, natsOptions: { ...shared.natsOptions, ...device.natsOptions },
        sessionCache: this.sessions, dataDir: join(shared.dataDir, device.deviceId),
      }));
    }
    this.load = new SyntheticLoad(this.agents, { ratePerSec: syntheticLoadPerSec });
  }

  get deviceIds(): string[] {
    return [...this.byId.keys()];
  }

  get agents(): EdgeAgent[] {
    return [...this.byId.values()];
  }

  /** @throws UnknownSimulatedDeviceError */
  agent(deviceId: string): EdgeAgent {
    const agent = this.byId.get(deviceId);
    if (agent === undefined) throw new UnknownSimulatedDeviceError(`no simulated device ${deviceId}`);
    return agent;
  }

  /** Starts every agent (each restores its last model, then connects in the background). */
  async start(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.start()));
    this.load.start();
  }

  /** Resolves once every agent is connected and registered. */
  async waitUntilOnline(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.agents.map((a) => a.waitUntilOnline(timeoutMs)));
  }

  async stop(): Promise<void> {
    await this.load.stop();
    await Promise.all(this.agents.map((a) => a.stop()));
    if (this.ownsSessions) await this.sessions.close();
  }
}

export const DEFAULT_REGIONS = ['us-west-1', 'us-east-1', 'eu-central-1'] as const;
export const DEFAULT_DEVICE_TYPES = ['edge-camera', 'edge-gateway', 'edge-sensor'] as const;

const CAPABILITIES: Record<(typeof DEFAULT_DEVICE_TYPES)[number], DeviceCapabilitiesDto> = {
  'edge-camera': { cpuCores: 4, gpu: true, memoryMb: 4096, storageMb: 16_384 },
  'edge-gateway': { cpuCores: 8, gpu: false, memoryMb: 8192, storageMb: 65_536 },
  'edge-sensor': { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 4096 },
};

/**
 * The default simulated fleet: `dev-001` … `dev-012`. Regions go round-robin per device and device
 * types round-robin per region cycle, so each region holds every device type.
 */
export function defaultFleetSpecs(
  /** How many devices. */
  count = 12,
  /** Id prefix: devices are `<prefix>-001`, `<prefix>-002`, … */
  prefix = 'dev',
): SimulatedDeviceSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const region = DEFAULT_REGIONS[i % DEFAULT_REGIONS.length];
    const deviceType = DEFAULT_DEVICE_TYPES[Math.floor(i / DEFAULT_REGIONS.length) % DEFAULT_DEVICE_TYPES.length];
    return {
      deviceId: `${prefix}-${String(i + 1).padStart(3, '0')}`,
      deviceType,
      region,
      capabilities: CAPABILITIES[deviceType],
      tags: ['simulated', deviceType, region],
    };
  });
}

/**
 * Distributor integration specs on real NATS and JetStream with the real registries: what they
 * share. The test plays the devices (and, if asked, the monitor) on a raw NATS connection of its
 * own, and may start several distributor instances, each on its own NATS connection as separate
 * processes would be.
 */
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  Commands, DeviceSubjects, FINISHED_DISTRIBUTION_STATUSES, Queries,
  type CreatedReply, type DistributionStatusView, type ModelView, type SwapCommand, type TargetHealthQuery, type UploadModelCommand,
} from '@hotswap/contracts';
import { generateSigningKeyPair, JetStreamEventStore, MessageBus, type ServiceRuntime } from '@hotswap/infrastructure';
import { eventually, makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { DistributorModule } from '../distributor.module.js';
import { DEFAULT_EXECUTION_POLICY, type DistributorOptions } from '../distributor.options.js';

/** A service the distributor talks to, booted beside it (the registries): its module's `register`. */
export interface CollaboratorModule {
  register(runtime: ServiceRuntime): DynamicModule;
}

/** What the fake monitor reports for a device over its health window. */
export interface DeviceHealth { readonly samples: number; readonly errors: number; readonly latencyP99Ms: number }
export const HEALTHY: DeviceHealth = { samples: 50, errors: 0, latencyP99Ms: 5 };

/** Rollouts that verify a device on its report and never retry: what most specs want to count. */
export const FAST_EXECUTION = { ...DEFAULT_EXECUTION_POLICY, healthWindowMs: 0, maxRetries: 0 };

/** The fake device's acknowledgement of a command (accepted unless told otherwise). */
export type Ack = (accepted?: boolean, reason?: string) => void;

export interface DistributorHarness {
  readonly t: TestRuntime;
  /** Registers `deviceId` with the device registry, as a device announcing itself would. */
  registerDevice(deviceId: string, region?: string, tags?: string[]): Promise<void>;
  /** The device `deviceId` receiving its commands: `onCommand` must `ack` each one; it may report afterwards. */
  answerCommands(deviceId: string, onCommand: (command: SwapCommand, ack: Ack) => void): Subscription;
  /** `registerDevice` then `answerCommands`. */
  fakeDevice(deviceId: string, onCommand: (command: SwapCommand, ack: Ack) => void, region?: string, tags?: string[]): Promise<Subscription>;
  /** Sends the device's `swapped` report for `command` when called. */
  swapReport(deviceId: string, command: SwapCommand): () => void;
  /** Answers the monitor's target-health query: `healthOf` a device, HEALTHY where it says nothing. */
  playMonitor(healthOf?: (deviceId: string) => DeviceHealth | undefined): void;
  /** Uploads add model `<name>-<version>` (answers `x + addend`) through the model registry. */
  uploadAddModel(name: string, version: string, addend: number): Promise<void>;
  /** A service runtime on its own NATS connection (same server, database and clock): another distributor process. */
  runtimeOn(connectionName: string): Promise<ServiceRuntime>;
  /** A distributor on `runtime`: ticks every 25 ms with FAST_EXECUTION unless `options` say otherwise. Closed by `cleanup`. */
  startDistributor(runtime: ServiceRuntime, options?: Partial<DistributorOptions>): Promise<INestApplicationContext>;
  /** Creates a Direct distribution by `olga`, `body` adding to or overriding that. */
  create(body: object): Promise<CreatedReply>;
  status(id: string): Promise<DistributionStatusView>;
  /** Waits until distribution `id` has finished, whatever its outcome. */
  finished(id: string, timeoutMs?: number): Promise<DistributionStatusView>;
  /** Closes the devices' connection, every context (last started first), the extra connections and the runtime. */
  cleanup(): Promise<void>;
}

export async function startDistributorHarness(collaborators: readonly CollaboratorModule[]): Promise<DistributorHarness> {
  const keys = generateSigningKeyPair();
  const t = await startTestRuntime();
  const contexts: INestApplicationContext[] = [];
  const connections: NatsConnection[] = [];
  const start = async (module: DynamicModule) => {
    const context = await NestFactory.createApplicationContext(module, { logger: false });
    await context.init();
    contexts.push(context);
    return context;
  };
  let devices: NatsConnection;
  try {
    for (const collaborator of collaborators) await start(collaborator.register(t.runtime));
    devices = await connect({ servers: t.nats.url });
  } catch (error) {
    // The suite gets no harness to clean up: leave no server or context behind.
    for (const context of contexts.reverse()) await context.close().catch(() => undefined);
    await t.cleanup();
    throw error;
  }

  const registerDevice = async (deviceId: string, region = 'eu', tags: string[] = []) => {
    await devices.request(DeviceSubjects.register(deviceId), JSON.stringify({
      deviceId, deviceType: 'edge-gateway', region, tags, capabilities: { cpuCores: 2, gpu: false, memoryMb: 512, storageMb: 1024 },
    }), { timeout: 5_000 });
  };
  const answerCommands = (deviceId: string, onCommand: (command: SwapCommand, ack: Ack) => void) =>
    devices.subscribe(DeviceSubjects.command(deviceId), {
      callback: (_err, msg: Msg) => {
        const command = msg.json<SwapCommand>();
        onCommand(command, (accepted = true, reason) => {
          msg.respond(JSON.stringify({ commandId: command.commandId, accepted, ...(reason ? { reason } : {}) }));
        });
      },
    });
  const status = (id: string) => t.runtime.bus.request<{ id: string }, DistributionStatusView>(Queries.getDistributionStatus, { id }, { timeoutMs: 5_000 });

  return {
    t, registerDevice, answerCommands, status,
    fakeDevice: async (deviceId, onCommand, region, tags) => {
      await registerDevice(deviceId, region, tags);
      return answerCommands(deviceId, onCommand);
    },
    swapReport: (deviceId, command) => () => devices.publish(DeviceSubjects.status(deviceId), JSON.stringify({
      deviceId, commandId: command.commandId, distributionId: command.distributionId, modelId: command.modelId, phase: 'swapped',
      at: t.clock.now().toISOString(), timings: { totalMs: 7 },
    })),
    playMonitor: (healthOf = () => undefined) => {
      devices.subscribe(Queries.getTargetHealth, {
        callback: (_err, msg) => {
          const { targets } = msg.json<TargetHealthQuery>();
          msg.respond(JSON.stringify({ ok: true, result: { items: targets.map(({ deviceId }) => ({ deviceId, accuracy: null, labelled: 0, ...(healthOf(deviceId) ?? HEALTHY) })) } }));
        },
      });
    },
    uploadAddModel: async (name, version, addend) => {
      const stagingKey = `staging/${name}-${version}`;
      const staged = await t.runtime.artifacts.put(stagingKey, Readable.from([makeAddModel({ addend })]));
      await t.runtime.bus.request<UploadModelCommand, ModelView>(Commands.uploadModel, {
        actor: 'alice', name, version, framework: 'onnx', metadata: {}, stagingKey, sha256: staged.sha256, sizeBytes: staged.sizeBytes,
      }, { timeoutMs: 10_000 });
    },
    runtimeOn: async (connectionName) => {
      const nats = await connect({ servers: t.nats.url, name: connectionName });
      connections.push(nats);
      return { ...t.runtime, nats, bus: new MessageBus(nats, { logger: t.runtime.logger }), eventStore: await JetStreamEventStore.fromConnection(nats) };
    },
    startDistributor: (runtime, options = {}) => start(DistributorModule.register(runtime, {
      artifactBaseUrl: 'http://127.0.0.1:8080', urlSigningSecret: 'secret', manifestPrivateKeyPem: keys.privateKeyPem, commandAckTimeoutMs: 1_000,
      requireValidation: false, tickIntervalMs: 25, executionDefaults: FAST_EXECUTION,
      ...options,
    })),
    create: (body) => t.runtime.bus.request<object, CreatedReply>(Commands.createDistribution, { actor: 'olga', strategy: 'Direct', ...body }, { timeoutMs: 10_000 }),
    // A poll that times out on a loaded machine (instances dying and joining) is polled again.
    finished: async (id, timeoutMs = 30_000) => (await eventually(() => status(id).catch(() => undefined),
      (s) => s !== undefined && FINISHED_DISTRIBUTION_STATUSES.includes(s.status), timeoutMs))!,
    cleanup: async () => {
      await devices.close();
      for (const context of contexts.reverse()) await context.close().catch(() => undefined);
      for (const nc of connections) await nc.close().catch(() => undefined);
      await t.cleanup();
    },
  };
}

import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  Commands, DeviceSubjects, Queries, Streams,
  type CreatedReply, type DistributionStatusView, type ModelVersionsView, type ModelView, type RetentionReport, type SwapCommand, type UploadModelCommand,
} from '@hotswap/contracts';
import { DeviceRegistryModule } from '@hotswap/device-registry';
import { DEFAULT_EXECUTION_POLICY, DistributorModule } from '@hotswap/distributor';
import { generateSigningKeyPair } from '@hotswap/infrastructure';
import { makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '../model-registry.module.js';

/**
 * The retention policy on real NATS, JetStream and PGlite, with the real device registry and
 * distributor, devices played on raw NATS: it deletes only what no rule keeps and nothing in use.
 */
const DAY = 86_400_000;
let t: TestRuntime;
let contexts: INestApplicationContext[];
let devices: NatsConnection;
/** Devices that ack a swap but never report back, keeping their distribution Running. */
const silent = new Set<string>(['d-2']);

async function boot(module: Parameters<typeof NestFactory.createApplicationContext>[0]) {
  const context = await NestFactory.createApplicationContext(module, { logger: false });
  await context.init();
  contexts.push(context);
}

async function fakeDevice(deviceId: string) {
  await devices.request(DeviceSubjects.register(deviceId), JSON.stringify({
    deviceId, deviceType: 'edge-gateway', region: 'us-west-1', capabilities: { cpuCores: 2, gpu: false, memoryMb: 512, storageMb: 1024 },
  }), { timeout: 5_000 });
  devices.subscribe(DeviceSubjects.command(deviceId), {
    callback: (_err, msg) => {
      const command = msg.json<SwapCommand>();
      msg.respond(JSON.stringify({ commandId: command.commandId, accepted: true }));
      if (silent.has(deviceId)) return;
      devices.publish(DeviceSubjects.status(deviceId), JSON.stringify({
        deviceId, commandId: command.commandId, distributionId: command.distributionId, modelId: command.modelId, phase: 'swapped',
        at: t.clock.now().toISOString(), timings: { totalMs: 5 },
      }));
    },
  });
}

const ask = <T>(subject: string, payload: object, timeoutMs = 15_000) => t.runtime.bus.request<object, T>(subject, payload, { timeoutMs });
const versions = async (name: string) => (await ask<ModelVersionsView>(Queries.listModelVersions, { name })).items.map((v) => v.version);
const retention = (dryRun: boolean) => ask<RetentionReport>(Commands.applyRetentionPolicy, { actor: 'admin', dryRun });

async function upload(name: string, version: string): Promise<ModelView> {
  const stagingKey = `staging/${name}-${version}`;
  const staged = await t.runtime.artifacts.put(stagingKey, Readable.from([makeAddModel({ addend: 1 })]));
  return ask<ModelView>(Commands.uploadModel, {
    actor: 'alice', name, version, framework: 'onnx', metadata: {}, stagingKey, sha256: staged.sha256, sizeBytes: staged.sizeBytes,
  } satisfies UploadModelCommand);
}

/** What the validator records for a version that passed (enough for the registry's read model). */
async function markValidated(modelId: string) {
  const at = t.clock.now().toISOString();
  const metadata = { schemaVersion: 1, actor: 'system:validator', occurredAt: at };
  await t.runtime.eventStore.append(Streams.model(modelId), [
    { type: 'ModelValidationStarted', data: { modelId, validationId: `val-${modelId}`, trigger: 'upload', thresholds: {}, ranOn: 'validator', at }, metadata },
    { type: 'ModelValidated', data: { modelId, validationId: `val-${modelId}`, report: {}, at }, metadata },
  ], 'any');
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const distribute = (modelId: string, deviceId: string) =>
  ask<CreatedReply>(Commands.createDistribution, { actor: 'olga', strategy: 'Direct', modelId, targetDevices: [deviceId] });
const status = (id: string) => ask<DistributionStatusView>(Queries.getDistributionStatus, { id });

beforeAll(async () => {
  t = await startTestRuntime();
  contexts = [];
  const keys = generateSigningKeyPair();
  await boot(ModelRegistryModule.register(t.runtime, { retention: { policy: { keepLatest: 1, maxAgeMs: DAY }, intervalMs: 3_600_000 } }));
  await boot(DeviceRegistryModule.register(t.runtime));
  await boot(DistributorModule.register(t.runtime, {
    artifactBaseUrl: 'http://127.0.0.1:8080', urlSigningSecret: 'url', manifestPrivateKeyPem: keys.privateKeyPem,
    commandAckTimeoutMs: 1_000, requireValidation: false,
    // A swap report verifies a device here: no health window to wait out.
    tickIntervalMs: 25, executionDefaults: { ...DEFAULT_EXECUTION_POLICY, healthWindowMs: 0 },
  }));
  devices = await connect({ servers: t.nats.url });
  for (const id of ['d-1', 'd-2']) await fakeDevice(id);
  for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.10.0']) await upload('adder', version);
  await markValidated('adder-1.1.0');
  // adder-1.0.0 runs on d-1; adder-1.2.0 is used by a distribution still Running (d-2 never reports).
  const done = await distribute('adder-1.0.0', 'd-1');
  await until(() => status(done.id), (s) => s.status === 'Succeeded', 'distribution to d-1');
  const running = await distribute('adder-1.2.0', 'd-2');
  await until(() => status(running.id), (s) => s.status === 'Running', 'distribution to d-2');
  // Every adder version is now two days old; lens-2.0.0 arrives today.
  t.clock.advance(2 * DAY);
  await upload('lens', '1.0.0');
  await upload('lens', '2.0.0');
}, 60_000);

afterAll(async () => {
  await devices?.close();
  for (const context of (contexts ?? []).reverse()) await context.close();
  await t?.cleanup();
});

describe('retention policy', () => {
  it('in a dry run lists what it would delete and why it keeps the rest, deleting nothing', async () => {
    const report = await retention(true);
    expect(report).toMatchObject({ dryRun: true, policy: { keepLatest: 1, maxAge: 'P1D' }, ranAt: t.clock.now().toISOString(), failed: [] });
    expect(report.deleted.map((d) => d.id)).toEqual(['adder-1.3.0']);
    expect(report.deleted[0]!.reason).toMatch(/^not among the newest 1 versions of adder; uploaded .*, more than P1D ago$/);
    expect(Object.fromEntries(report.kept.map((d) => [d.id, d.reason]))).toEqual({
      'adder-1.0.0': 'runs on 1 device (d-1)',
      'adder-1.1.0': 'the newest Validated version of adder',
      'adder-1.10.0': 'among the newest 1 versions of adder',
      'adder-1.2.0': expect.stringMatching(/^used by distribution dist-\S+ \(Running\)$/),
      'lens-1.0.0': expect.stringMatching(/less than P1D ago$/),
      'lens-2.0.0': 'among the newest 1 versions of lens',
    });
    expect(await versions('adder')).toEqual(['1.10.0', '1.3.0', '1.2.0', '1.1.0', '1.0.0']);
  });

  it('deletes through the registry\'s delete path, recording retention-policy as the actor', async () => {
    const report = await retention(false);
    expect(report.deleted.map((d) => d.id)).toEqual(['adder-1.3.0']);
    expect(await versions('adder')).toEqual(['1.10.0', '1.2.0', '1.1.0', '1.0.0']);
    const history = await t.runtime.eventStore.readStream(Streams.model('adder-1.3.0'));
    expect(history.at(-1)).toMatchObject({ type: 'ModelVersionDeleted', metadata: { actor: 'retention-policy' } });
    expect(await t.runtime.artifacts.exists(String(history[0]!.data['artifactKey']))).toBe(false);
  });

  it('has nothing left to delete on the next run', async () => {
    expect((await retention(false)).deleted).toEqual([]);
  });

  it('refuses a command without an actor or dryRun', async () => {
    await expect(ask(Commands.applyRetentionPolicy, { dryRun: 'yes' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'actor is required; dryRun must be true or false' });
  });
});

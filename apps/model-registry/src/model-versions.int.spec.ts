import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  Commands, DeviceSubjects, Queries, Streams,
  type CreatedReply, type DeviceView, type DistributionStatusView, type ModelVersionDeletedReply, type ModelVersionsView, type ModelView,
  type SwapCommand, type UploadModelCommand,
} from '@hotswap/contracts';
import { DeviceRegistryModule } from '@hotswap/device-registry';
import { DEFAULT_EXECUTION_POLICY, DistributorModule } from '@hotswap/distributor';
import { generateSigningKeyPair } from '@hotswap/infrastructure';
import { makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from './model-registry.module.js';

/**
 * FR-AI-007 on real NATS, JetStream and PGlite: the registry with the real device registry and
 * distributor (validation not required, so no validator), and devices played on raw NATS.
 */

let t: TestRuntime;
let contexts: INestApplicationContext[];
let devices: NatsConnection;
/** Devices that ack a swap but never report back, keeping their distribution Running. */
const silent = new Set<string>();
const received = new Map<string, SwapCommand[]>();

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
      received.set(deviceId, [...(received.get(deviceId) ?? []), command]);
      msg.respond(JSON.stringify({ commandId: command.commandId, accepted: true }));
      if (silent.has(deviceId)) return;
      devices.publish(DeviceSubjects.status(deviceId), JSON.stringify({
        deviceId, commandId: command.commandId, distributionId: command.distributionId, modelId: command.modelId, phase: 'swapped',
        at: t.clock.now().toISOString(), timings: { totalMs: 5 },
      }));
    },
  });
}

const ask = <T>(subject: string, payload: object, timeoutMs = 10_000) => t.runtime.bus.request<object, T>(subject, payload, { timeoutMs });
const versions = (name: string) => ask<ModelVersionsView>(Queries.listModelVersions, { name });
const deleteVersion = (name: string, version: string, actor = 'gdpr-officer') =>
  ask<ModelVersionDeletedReply>(Commands.deleteModelVersion, { actor, name, version });
const rollback = (name: string, version: string) => ask<CreatedReply>(Commands.rollbackModelVersion, { actor: 'olga', name, version });
const deprecate = (name: string, version: string, reason?: string) =>
  ask<ModelView>(Commands.deprecateModelVersion, { actor: 'mona', name, version, ...(reason ? { reason } : {}) });

async function upload(name: string, version: string, addend = 1): Promise<ModelView> {
  const stagingKey = `staging/${name}-${version}-${addend}`;
  const staged = await t.runtime.artifacts.put(stagingKey, Readable.from([makeAddModel({ addend })]));
  return ask<ModelView>(Commands.uploadModel, {
    actor: 'alice', name, version, framework: 'onnx', metadata: {}, stagingKey, sha256: staged.sha256, sizeBytes: staged.sizeBytes,
  } satisfies UploadModelCommand);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Distributes `modelId` to `targets` and waits until the distribution has finished. */
async function distribute(modelId: string, targets: string[]): Promise<DistributionStatusView> {
  const { id } = await ask<CreatedReply>(Commands.createDistribution, { actor: 'olga', strategy: 'Direct', modelId, targetDevices: targets });
  return settled(id);
}

const settled = (id: string) => until(
  () => ask<DistributionStatusView>(Queries.getDistributionStatus, { id }),
  (v) => v.status === 'Succeeded' || v.status === 'Failed', `distribution ${id}`,
);
const runs = (modelId: string, count: number) => until(
  () => ask<{ items: DeviceView[]; total: number }>(Queries.listDevices, { modelId }),
  (page) => page.total === count, `devices running ${modelId}`,
);

beforeAll(async () => {
  t = await startTestRuntime();
  contexts = [];
  const keys = generateSigningKeyPair();
  await boot(ModelRegistryModule.register(t.runtime));
  await boot(DeviceRegistryModule.register(t.runtime));
  await boot(DistributorModule.register(t.runtime, {
    artifactBaseUrl: 'http://127.0.0.1:8080', urlSigningSecret: 'url', manifestPrivateKeyPem: keys.privateKeyPem,
    commandAckTimeoutMs: 1_000, requireValidation: false,
    // A swap report verifies a device here: no health window to wait out.
    tickIntervalMs: 25, executionDefaults: { ...DEFAULT_EXECUTION_POLICY, healthWindowMs: 0 },
  }));
  devices = await connect({ servers: t.nats.url });
  for (const id of ['v-1', 'v-2', 'v-3', 'pro-1']) await fakeDevice(id);
  for (const version of ['1.0.0', '1.10.0', '1.2.0', '2.0.0-rc.1']) await upload('adder', version);
  // A name that starts like "adder-": its devices are not adder's.
  await upload('adder-pro', '1.0.0');
}, 60_000);

afterAll(async () => {
  await devices?.close();
  for (const context of (contexts ?? []).reverse()) await context.close();
  await t?.cleanup();
});

describe('model versions - history', () => {
  it('lists every version of a name, newest by semver first, with status and upload time', async () => {
    const history = await versions('adder');
    expect(history.name).toBe('adder');
    expect(history.total).toBe(4);
    expect(history.items.map((v) => v.version)).toEqual(['2.0.0-rc.1', '1.10.0', '1.2.0', '1.0.0']);
    expect(history.items[0]).toMatchObject({ id: 'adder-2.0.0-rc.1', name: 'adder', status: 'Uploaded', uploadedAt: t.clock.now().toISOString(), uploadedBy: 'alice' });
    expect((await versions('adder-pro')).items.map((v) => v.id)).toEqual(['adder-pro-1.0.0']);
  });

  it('gets one version, and answers NOT_FOUND naming a name or version it does not know', async () => {
    expect(await ask<ModelView>(Queries.getModelVersion, { name: 'adder', version: '1.2.0' })).toMatchObject({ id: 'adder-1.2.0', version: '1.2.0' });
    await expect(ask(Queries.getModelVersion, { name: 'adder', version: '9.9.9' }))
      .rejects.toMatchObject({ code: 'NOT_FOUND', message: 'model adder has no version 9.9.9' });
    await expect(versions('ghost')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'model ghost has no versions' });
  });

  it.each([
    [Queries.listModelVersions, { name: 'bad name' }, 'model name "bad name" must not contain'],
    [Queries.getModelVersion, { name: 'adder', version: '1.2' }, 'version must be a semantic version, got "1.2"'],
    [Commands.deleteModelVersion, { name: 'adder', version: '1.0.0' }, 'actor is required'],
    [Commands.rollbackModelVersion, { actor: 'olga', name: 'adder', version: 'latest' }, 'version must be a semantic version, got "latest"'],
    [Commands.deprecateModelVersion, { actor: 'mona', name: 'adder', version: '1.0.0', reason: 7 }, 'reason must be a string'],
  ])('refuses a bad %s payload naming the field', async (subject, payload, message) => {
    await expect(ask(subject, payload)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining(message) });
  });
});

describe('model versions - deprecate', () => {
  it('marks the version Deprecated with who, when and why, and refuses to do it twice', async () => {
    const view = await deprecate('adder', '1.10.0', 'wrong output scale');
    expect(view).toMatchObject({
      id: 'adder-1.10.0', status: 'Deprecated', deprecatedBy: 'mona', deprecatedAt: t.clock.now().toISOString(), deprecationReason: 'wrong output scale',
    });
    expect((await versions('adder')).items.find((v) => v.version === '1.10.0')?.status).toBe('Deprecated');
    await expect(deprecate('adder', '1.10.0')).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('is already Deprecated') });
    await expect(deprecate('adder', '7.0.0')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'model adder-7.0.0 not found' });
  });
});

describe('model versions - rollback and delete', () => {
  it('refuses a rollback while no device runs the model, naming it', async () => {
    await expect(rollback('adder', '1.0.0')).rejects.toMatchObject({
      code: 'BAD_REQUEST', message: 'no device runs a version of model adder, so there is nothing to roll back',
    });
  });

  it('refuses to delete a version while a device runs it, naming the device', async () => {
    expect((await distribute('adder-1.2.0', ['v-1', 'v-2'])).status).toBe('Succeeded');
    expect((await distribute('adder-pro-1.0.0', ['pro-1'])).status).toBe('Succeeded');
    await runs('adder-1.2.0', 2);
    await expect(deleteVersion('adder', '1.2.0')).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'model adder-1.2.0 runs on 2 devices (v-1, v-2); move them to another version before deleting it',
      details: { devices: ['v-1', 'v-2'], deviceCount: 2 },
    });
    expect(await t.runtime.artifacts.exists((await artifactKey('adder-1.2.0'))!)).toBe(true);
  });

  it('rolls back to a version: a Direct distribution to the devices running another version of the name only', async () => {
    const { id, status } = await rollback('adder', '1.0.0');
    expect(status).toBe('Running');
    const done = await settled(id);
    expect(done).toMatchObject({ modelId: 'adder-1.0.0', strategy: 'Direct', status: 'Succeeded' });
    expect(done.devices.map((d) => d.deviceId)).toEqual(['v-1', 'v-2']);
    // Going back to an older version: the swap commands carry the signed permission to do so.
    expect((await t.runtime.eventStore.readStream(Streams.distribution(id)))[0]).toMatchObject({ type: 'DistributionCreated', data: { rollback: true }, metadata: { actor: 'olga' } });
    expect(received.get('v-1')?.at(-1)?.rollback?.instruction).toMatchObject({ modelId: 'adder-1.0.0' });
    await runs('adder-1.0.0', 2);
    expect((await ask<DeviceView>(Queries.getDevice, { id: 'pro-1' })).currentModelId).toBe('adder-pro-1.0.0');
    // Every adder device already runs 1.0.0 now.
    await expect(rollback('adder', '1.0.0')).rejects.toMatchObject({ code: 'CONFLICT', message: 'every device running model adder (2) already runs adder-1.0.0' });
  });

  it('refuses a rollback to a deprecated or unknown version', async () => {
    await expect(rollback('adder', '1.10.0')).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/^model adder-1\.10\.0 is Deprecated \(since .+\); it cannot be rolled back to$/) });
    await expect(rollback('adder', '3.0.0')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'model adder-3.0.0 not found' });
  });

  it('refuses to delete a version an active distribution uses, naming the distribution', async () => {
    silent.add('v-3');
    const { id } = await ask<CreatedReply>(Commands.createDistribution, { actor: 'olga', strategy: 'Direct', modelId: 'adder-2.0.0-rc.1', targetDevices: ['v-3'] });
    await until(() => deleteVersion('adder', '2.0.0-rc.1').catch((e: Error) => e), (e) => e instanceof Error && e.message.includes(id), 'delete refusal');
    await expect(deleteVersion('adder', '2.0.0-rc.1')).rejects.toMatchObject({
      code: 'CONFLICT',
      message: `model adder-2.0.0-rc.1 is used by an active distribution (${id} Running); wait for it to finish before deleting it`,
    });
  });

  it('deletes a version no device runs: artifact gone, row gone, ModelVersionDeleted recorded with the actor', async () => {
    const key = (await artifactKey('adder-1.2.0'))!;
    const reply = await deleteVersion('adder', '1.2.0');
    expect(reply).toEqual({ id: 'adder-1.2.0', name: 'adder', version: '1.2.0', status: 'Deleted', deletedAt: t.clock.now().toISOString(), deletedBy: 'gdpr-officer' });
    expect(await t.runtime.artifacts.exists(key)).toBe(false);
    const last = (await t.runtime.eventStore.readStream(Streams.model('adder-1.2.0'))).at(-1)!;
    expect(last).toMatchObject({ type: 'ModelVersionDeleted', data: { modelId: 'adder-1.2.0', artifactKey: key }, metadata: { actor: 'gdpr-officer', schemaVersion: 1 } });
    expect((await versions('adder')).items.map((v) => v.version)).toEqual(['2.0.0-rc.1', '1.10.0', '1.0.0']);
    await expect(ask(Queries.getModel, { id: 'adder-1.2.0' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(deleteVersion('adder', '1.2.0')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('not found (deleted at') });
    await expect(rollback('adder', '1.2.0')).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('was deleted at') });
  });

  it('accepts a new upload of a deleted id, which starts over', async () => {
    const again = await upload('adder', '1.2.0', 5);
    expect(again).toMatchObject({ id: 'adder-1.2.0', status: 'Uploaded' });
    expect((await versions('adder')).total).toBe(4);
    expect(await t.runtime.artifacts.exists((await artifactKey('adder-1.2.0'))!)).toBe(true);
  });
});

async function artifactKey(id: string): Promise<string | undefined> {
  return (await ask<{ artifactKey: string }>(Queries.getModelArtifact, { id })).artifactKey;
}

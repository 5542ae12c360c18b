import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  Commands, DeviceSubjects, FINISHED_DISTRIBUTION_STATUSES, Queries, Streams,
  type CreatedReply, type DistributionStatusView, type ModelView, type SwapCommand, type SyncReply, type UploadModelCommand,
  type ValidationStartedReply,
} from '@hotswap/contracts';
import { DeviceRegistryModule } from '@hotswap/device-registry';
import { generateSigningKeyPair, verifyManifest, verifyRollback, verifySignedUrl } from '@hotswap/infrastructure';
import { makeAddModel, makeSlowModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '@hotswap/model-registry';
import { ValidatorModule } from '@hotswap/validator';
import { DistributorModule } from './distributor.module.js';
import { DEFAULT_EXECUTION_POLICY } from './distributor.options.js';

const keys = generateSigningKeyPair();
const URL_SECRET = 'url-secret';
let t: TestRuntime;
let contexts: INestApplicationContext[];
let validator: INestApplicationContext;
let devices: NatsConnection;
/** What each fake device answers to a swap: the phase it reports after acking. */
const behaviour = new Map<string, 'swapped' | 'failed' | 'silent'>();
const received = new Map<string, SwapCommand[]>();

async function boot(module: Parameters<typeof NestFactory.createApplicationContext>[0]) {
  const context = await NestFactory.createApplicationContext(module, { logger: false });
  await context.init();
  contexts.push(context);
  return context;
}

/** A device played by the test on raw NATS: registers, acks commands, reports the outcome. */
async function fakeDevice(deviceId: string, region: string) {
  await devices.request(DeviceSubjects.register(deviceId), JSON.stringify({
    deviceId, deviceType: 'edge-gateway', region, capabilities: { cpuCores: 2, gpu: false, memoryMb: 512, storageMb: 1024 },
  }), { timeout: 5_000 });
  devices.subscribe(DeviceSubjects.command(deviceId), {
    callback: (_err, msg) => {
      const command = msg.json<SwapCommand>();
      received.set(deviceId, [...(received.get(deviceId) ?? []), command]);
      msg.respond(JSON.stringify({ commandId: command.commandId, accepted: true }));
      const outcome = behaviour.get(deviceId) ?? 'swapped';
      if (outcome === 'silent') return;
      devices.publish(DeviceSubjects.status(deviceId), JSON.stringify({
        deviceId, commandId: command.commandId, distributionId: command.distributionId, modelId: command.modelId, phase: outcome,
        at: t.clock.now().toISOString(), ...(outcome === 'failed' ? { reason: 'checksum mismatch' } : { timings: { totalMs: 12 } }),
      }));
    },
  });
}

const create = (body: object) =>
  t.runtime.bus.request<object, CreatedReply>(Commands.createDistribution, { actor: 'olga', strategy: 'Direct', ...body }, { timeoutMs: 10_000 });
const status = (id: string) => t.runtime.bus.request<{ id: string }, DistributionStatusView>(Queries.getDistributionStatus, { id }, { timeoutMs: 5_000 });

async function eventually<T>(read: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function settled(id: string): Promise<DistributionStatusView> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const view = await status(id);
    if (FINISHED_DISTRIBUTION_STATUSES.includes(view.status)) return view;
    if (Date.now() > deadline) throw new Error(`distribution stayed ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const model = (id: string) => t.runtime.bus.request<{ id: string }, ModelView>(Queries.getModel, { id }, { timeoutMs: 5_000 });

/** Polls the registry until the model has one of `statuses`. */
async function modelStatus(id: string, statuses: ModelView['status'][]): Promise<ModelView['status']> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { status: current } = await model(id);
    if (statuses.includes(current)) return current;
    if (Date.now() > deadline) throw new Error(`model ${id} stayed ${current}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function uploadModel(name: string, version: string, bytes: Buffer): Promise<void> {
  const staged = await t.runtime.artifacts.put(`staging/${name}-${version}`, Readable.from([bytes]));
  await t.runtime.bus.request<UploadModelCommand, ModelView>(Commands.uploadModel, {
    actor: 'alice', name, version, framework: 'onnx', metadata: {}, stagingKey: `staging/${name}-${version}`, sha256: staged.sha256, sizeBytes: staged.sizeBytes,
  }, { timeoutMs: 10_000 });
}

beforeAll(async () => {
  t = await startTestRuntime();
  contexts = [];
  // Validation is required (the default), so the validator runs too and every model is validated on upload.
  await boot(ModelRegistryModule.register(t.runtime));
  validator = await boot(ValidatorModule.register(t.runtime));
  await boot(DeviceRegistryModule.register(t.runtime));
  // No health window by default here (a swap report verifies); the health-gated specs set their own.
  await boot(DistributorModule.register(t.runtime, {
    artifactBaseUrl: 'http://127.0.0.1:8080', urlSigningSecret: URL_SECRET, manifestPrivateKeyPem: keys.privateKeyPem, commandAckTimeoutMs: 1_000,
    tickIntervalMs: 25, executionDefaults: { ...DEFAULT_EXECUTION_POLICY, healthWindowMs: 0, maxRetries: 0 },
  }));
  devices = await connect({ servers: t.nats.url });
  for (const [id, region] of [['d-1', 'us-west-1'], ['d-2', 'us-west-1'], ['d-3', 'eu-central-1']] as const) await fakeDevice(id, region);
  await uploadModel('adder', '1.0.0', makeAddModel({ addend: 1 }));
  expect(await modelStatus('adder-1.0.0', ['Validated', 'Rejected'])).toBe('Validated');
}, 60_000);

afterAll(async () => {
  await devices?.close();
  for (const context of (contexts ?? []).reverse()) await context.close();
  await t?.cleanup();
});

describe('distributor - Direct distribution', () => {
  it('commands every target with a signed manifest and a signed URL, and succeeds once every device swapped', async () => {
    const { id, status: initial } = await create({ modelId: 'adder-1.0.0', targetDevices: ['d-1', 'd-2'] });
    expect(initial).toBe('Running');
    const view = await settled(id);
    expect(view).toMatchObject({ status: 'Succeeded', modelId: 'adder-1.0.0', progress: { total: 2, updated: 2, failed: 0, pending: 0 } });
    expect(view.devices).toEqual([
      { deviceId: 'd-1', state: 'Updated', wave: 1, modelId: 'adder-1.0.0', attempt: 1, swapMs: 12 },
      { deviceId: 'd-2', state: 'Updated', wave: 1, modelId: 'adder-1.0.0', attempt: 1, swapMs: 12 },
    ]);

    const command = received.get('d-1')!.at(-1)!;
    expect(command).toMatchObject({ type: 'swap', modelId: 'adder-1.0.0', distributionId: id });
    expect(verifyManifest(command.release, keys.publicKeyPem, { now: t.clock.now() })).toEqual({ ok: true });
    const url = new URL(command.artifactUrl);
    expect(verifySignedUrl(decodeURIComponent(url.pathname.replace(/^\/artifacts\//, '')), url.searchParams.get('expires')!, url.searchParams.get('sig')!, { now: t.clock.now(), secret: URL_SECRET }))
      .toEqual({ ok: true });
    const types = (await t.runtime.eventStore.readStream(Streams.distribution(id))).map((e) => e.type);
    expect(types.slice(0, 5)).toEqual(['DistributionCreated', 'DistributionStarted', 'WaveStarted', 'TargetUpdateRequested', 'TargetUpdateRequested']);
    expect(types.filter((type) => type === 'TargetSwapped' || type === 'TargetUpdateSucceeded')).toHaveLength(4);
    expect(types.slice(-2)).toEqual(['WaveCompleted', 'DistributionSucceeded']);
  });

  it('serves the page of device rows asked for, and refuses a page too large or a negative offset', async () => {
    const { id } = await create({ modelId: 'adder-1.0.0', targetDevices: ['d-1', 'd-2'] });
    await settled(id);
    const page = await t.runtime.bus.request<object, DistributionStatusView>(Queries.getDistributionStatus, { id, devicesOffset: 1, devicesLimit: 1 }, { timeoutMs: 5_000 });
    expect(page.devices.map((d) => d.deviceId)).toEqual(['d-2']);
    expect(page.devicesPage).toEqual({ offset: 1, limit: 1, total: 2 });
    expect((await status(id)).devicesPage).toEqual({ offset: 0, limit: 1000, total: 2 });
    await expect(t.runtime.bus.request(Queries.getDistributionStatus, { id, devicesOffset: -1, devicesLimit: 1001 }, { timeoutMs: 5_000 }))
      .rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/devicesOffset.*devicesLimit|devicesLimit.*devicesOffset/s) });
  });

  it('fails, naming the device, when a target reports a failed swap', async () => {
    behaviour.set('d-3', 'failed');
    const { id } = await create({ modelId: 'adder-1.0.0', targetFilter: { region: 'eu-central-1' } });
    const view = await settled(id);
    expect(view).toMatchObject({ status: 'Failed', progress: { total: 1, updated: 0, failed: 1 } });
    expect(view.devices[0]).toMatchObject({ deviceId: 'd-3', state: 'Failed', reason: 'checksum mismatch' });
  });

  it('answers sync with a fresh command for the desired model, and with none for a device without one', async () => {
    const sync = async (deviceId: string, as = deviceId) => (await devices.request(DeviceSubjects.sync(deviceId), JSON.stringify({ deviceId: as }), { timeout: 5_000 })).json<SyncReply & { error?: unknown }>();
    const reply = await sync('d-1');
    expect(reply.desired).toMatchObject({ type: 'swap', modelId: 'adder-1.0.0', commandId: received.get('d-1')!.at(-1)!.commandId });
    expect(verifyManifest(reply.desired!.release, keys.publicKeyPem, { now: t.clock.now() })).toEqual({ ok: true });
    await devices.request(DeviceSubjects.register('d-new'), JSON.stringify({ deviceId: 'd-new', deviceType: 'x', region: 'r', capabilities: { cpuCores: 1, gpu: false, memoryMb: 1, storageMb: 1 } }), { timeout: 5_000 });
    expect(await sync('d-new')).toEqual({ desired: null });
    expect((await sync('d-1', 'd-2')).error).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('signs a rollback instruction for the artifact into the commands of a rollback distribution only', async () => {
    const { id } = await create({ modelId: 'adder-1.0.0', targetDevices: ['d-1'], rollback: true });
    const command = await eventually(() => received.get('d-1')?.find((c) => c.distributionId === id));
    expect(command.rollback?.instruction).toMatchObject({ modelId: 'adder-1.0.0', sha256: command.release.manifest.sha256, reason: `rollback distribution ${id}` });
    expect(verifyRollback(command.rollback, keys.publicKeyPem, { now: t.clock.now() })).toEqual({ ok: true });
    expect((await t.runtime.eventStore.readStream(Streams.distribution(id)))[0]).toMatchObject({ type: 'DistributionCreated', data: { rollback: true } });
    await settled(id);
    const plain = await create({ modelId: 'adder-1.0.0', targetDevices: ['d-1'] });
    expect((await eventually(() => received.get('d-1')?.find((c) => c.distributionId === plain.id))).rollback).toBeUndefined();
    await settled(plain.id);
    await expect(create({ modelId: 'adder-1.0.0', targetDevices: ['d-1'], rollback: 'yes' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'rollback must be a boolean' });
  });

  it('puts the transport a distribution forces into its swap commands, and none when it leaves the choice to the device', async () => {
    const forced = await create({ modelId: 'adder-1.0.0', targetDevices: ['d-1'], transport: 'nats' });
    const command = await eventually(() => received.get('d-1')?.find((c) => c.distributionId === forced.id));
    expect(command).toMatchObject({ transport: 'nats', artifactKey: expect.any(String) });
    await settled(forced.id);
    const auto = await create({ modelId: 'adder-1.0.0', targetDevices: ['d-1'], transport: 'auto' });
    expect((await eventually(() => received.get('d-1')?.find((c) => c.distributionId === auto.id))).transport).toBeUndefined();
    await settled(auto.id);
  });

  it('ignores a status report that speaks for another device', async () => {
    behaviour.set('d-2', 'silent');
    const { id } = await create({ modelId: 'adder-1.0.0', targetDevices: ['d-2'] });
    const command = await eventually(() => received.get('d-2')?.find((c) => c.distributionId === id));
    const commandId = command.commandId;
    devices.publish(DeviceSubjects.status('d-1'), JSON.stringify({ deviceId: 'd-2', commandId, distributionId: id, modelId: 'adder-1.0.0', phase: 'swapped', at: t.clock.now().toISOString() }));
    await eventually(() => t.logs.find((l) => l.message === 'status report speaks for another device'));
    expect((await status(id)).status).toBe('Running');
    devices.publish(DeviceSubjects.status('d-2'), JSON.stringify({ deviceId: 'd-2', commandId, distributionId: id, modelId: 'adder-1.0.0', phase: 'swapped', at: t.clock.now().toISOString(), timings: { totalMs: 3 } }));
    expect((await settled(id)).status).toBe('Succeeded');
  });
});

describe('distributor - bad requests', () => {
  it.each([
    [{ modelId: 'ghost-9.9.9', targetDevices: ['d-1'] }, 'NOT_FOUND', 'model ghost-9.9.9 not found'],
    [{ modelId: 'adder-1.0.0', targetDevices: ['d-1', 'nowhere', 'nobody'] }, 'NOT_FOUND', 'unknown devices: nowhere, nobody'],
    [{ modelId: 'adder-1.0.0' }, 'BAD_REQUEST', 'targetDevices or targetFilter is required'],
    [{ modelId: 'adder-1.0.0', targetFilter: { region: 'mars-1' } }, 'BAD_REQUEST', 'targetFilter matches no device'],
    [{ modelId: 'adder-1.0.0', targetDevices: ['d-1', 'd-2'], strategy: 'Canary', canaryPercentage: 50 }, 'BAD_REQUEST', 'canaryDuration is required'],
    [{ modelId: 'adder-1.0.0', targetDevices: ['d-1'], strategy: 'RegionalRollout', regions: ['mars-1'], delayBetweenRegions: 'PT1S' }, 'BAD_REQUEST', 'regions[0] names an unknown region "mars-1"'],
    [{ modelId: 'adder-1.0.0', targetDevices: ['d-1'], strategy: 'ProgressiveRollout', stages: [{ percentage: 60, duration: 'PT1S' }, { percentage: 50, duration: 'PT1S' }] }, 'BAD_REQUEST', 'stages[1].percentage must be greater'],
    [{ modelId: 'adder-1.0.0', targetDevices: ['d-1'], execution: { healthWindow: '30 seconds' } }, 'BAD_REQUEST', 'healthWindow must be an ISO 8601 duration'],
    [{ modelId: 'adder-1.0.0', targetDevices: ['d.1'] }, 'BAD_REQUEST', 'targetDevices'],
  ])('refuses %j with %s', async (body, code, message) => {
    await expect(create(body)).rejects.toMatchObject({ code, message: expect.stringContaining(message) });
  });

  it('refuses a deprecated model with CONFLICT naming it, although it was validated', async () => {
    await uploadModel('retired', '1.0.0', makeAddModel({ addend: 3 }));
    expect(await modelStatus('retired-1.0.0', ['Validated', 'Rejected'])).toBe('Validated');
    const deprecated = await t.runtime.bus.request<object, ModelView>(Commands.deprecateModelVersion, {
      actor: 'mona', name: 'retired', version: '1.0.0',
    }, { timeoutMs: 10_000 });
    await expect(create({ modelId: 'retired-1.0.0', targetDevices: ['d-1'] })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: `model retired-1.0.0 is Deprecated (since ${deprecated.deprecatedAt}) and cannot be the target of a new distribution`,
      details: { status: 'Deprecated' },
    });
  });

  it('lists the distributions of a model that have not finished, for the registry\'s delete rule', async () => {
    behaviour.set('d-2', 'silent');
    const { id } = await create({ modelId: 'adder-1.0.0', targetDevices: ['d-2'] });
    const using = (modelId: string) => t.runtime.bus.request<object, { items: Array<{ id: string; status: string }> }>(
      Queries.distributionsUsingModel, { modelId }, { timeoutMs: 5_000 },
    );
    const deadline = Date.now() + 10_000;
    while (!(await using('adder-1.0.0')).items.some((d) => d.id === id)) {
      if (Date.now() > deadline) throw new Error('the running distribution was not listed');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await using('adder-1.0.0')).items).toEqual([{ id, status: 'Running' }]);
    expect(await using('ghost-1.0.0')).toEqual({ items: [] });
    await expect(using('')).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'modelId must be a non-empty string of at most 200 characters' });
    const command = await eventually(() => received.get('d-2')?.find((c) => c.distributionId === id));
    devices.publish(DeviceSubjects.status('d-2'), JSON.stringify({ deviceId: 'd-2', commandId: command.commandId, distributionId: id, modelId: 'adder-1.0.0', phase: 'swapped', at: t.clock.now().toISOString(), timings: { totalMs: 3 } }));
    expect((await settled(id)).status).toBe('Succeeded');
    const after = Date.now() + 10_000;
    while ((await using('adder-1.0.0')).items.length > 0) {
      if (Date.now() > after) throw new Error('the finished distribution was still listed');
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  it('refuses a model that failed validation with CONFLICT listing the failing checks', async () => {
    await uploadModel('slow', '1.0.0', makeSlowModel({ addend: 1, size: 256, depth: 16 }));
    await modelStatus('slow-1.0.0', ['Validated', 'Rejected']);
    const { validationId } = await t.runtime.bus.request<object, ValidationStartedReply>(Commands.validateModel, {
      actor: 'olga', modelId: 'slow-1.0.0', thresholds: { latencyP99Ms: 0.001 },
    }, { timeoutMs: 10_000 });
    expect(validationId).toBeDefined();
    expect(await modelStatus('slow-1.0.0', ['Rejected'])).toBe('Rejected');

    const refused = create({ modelId: 'slow-1.0.0', targetDevices: ['d-1'] });
    await expect(refused).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/^model slow-1\.0\.0 failed validation and cannot be distributed; failing checks: latencyP99Ms: [\d.]+ \(threshold 0\.001\)$/),
      details: { status: 'Rejected', failedChecks: [expect.objectContaining({ name: 'latencyP99Ms', threshold: 0.001, passed: false })] },
    });
  });

  it('refuses a model that is not validated yet with CONFLICT naming its status, and distributes it once validated', async () => {
    // With the validator stopped the upload stays Uploaded; restarted, it validates what it missed.
    await validator.close();
    await uploadModel('pending', '1.0.0', makeAddModel({ addend: 4 }));
    expect((await model('pending-1.0.0')).status).toBe('Uploaded');
    await expect(create({ modelId: 'pending-1.0.0', targetDevices: ['d-1'] })).rejects.toMatchObject({
      code: 'CONFLICT', message: 'model pending-1.0.0 is Uploaded, not Validated; only validated models can be distributed', details: { status: 'Uploaded' },
    });
    validator = await boot(ValidatorModule.register(t.runtime));
    await modelStatus('pending-1.0.0', ['Validated']);
    await expect(create({ modelId: 'pending-1.0.0', targetDevices: ['d-1'] })).resolves.toMatchObject({ status: 'Running' });
  });

  it('answers NOT_FOUND for the status of an unknown distribution', async () => {
    await expect(status('dist-none')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'distribution dist-none not found' });
  });
});

import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import {
  Commands, DeviceSubjects, Queries, Streams,
  type DeviceValidationReply, type DeviceValidationRequest, type DeviceView, type ValidationReportView, type ValidationStartedReply,
} from '@hotswap/contracts';
import { modelDecider } from '@hotswap/domain';
import { generateSigningKeyPair, handleCommand, type BusSubscription } from '@hotswap/infrastructure';
import { makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ValidatorModule } from './validator.module.js';
import type { ValidatorOptions } from './validator.options.js';

jest.setTimeout(30_000);

let t: TestRuntime;
const keys = generateSigningKeyPair();
const device = { artifactBaseUrl: 'http://127.0.0.1:9/', urlSigningSecret: 'secret', manifestPrivateKeyPem: keys.privateKeyPem, requestTimeoutMs: 500 };
const cleanups: Array<() => Promise<unknown>> = [];
let modelId: string;

const boot = async (options: ValidatorOptions) => {
  const context: INestApplicationContext = await NestFactory.createApplicationContext(ValidatorModule.register(t.runtime, options), { logger: false });
  await context.init();
  cleanups.push(() => context.close());
};
const play = async (subject: string, handler: (payload: unknown) => unknown, envelope = true) => {
  const sub: BusSubscription = await t.runtime.bus.handle(subject, { validate: (p: unknown) => ({ ok: true as const, value: p }), handler, envelope });
  cleanups.push(() => sub.close());
};
const onlineDevice = (id: string): DeviceView => ({
  id, deviceType: 'edge', region: 'r', capabilities: { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 1024 }, tags: ['validation'],
  currentModelId: null, status: 'Online', lastHeartbeat: null, lastSwapMs: null,
});
const report = (id: string) => t.runtime.bus.request<{ id: string }, ValidationReportView>(Queries.getValidationReport, { id }, { timeoutMs: 5_000 });
async function validateOn(onDevice: boolean | string): Promise<ValidationReportView> {
  // The upload's own run (at the first boot) finishes first.
  for (const deadline = Date.now() + 20_000; ;) {
    const current = await report(modelId).catch(() => null);
    if (current && current.status !== 'Running') break;
    if (Date.now() > deadline) throw new Error(`the upload's run did not finish: ${JSON.stringify(current)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const { validationId } = await t.runtime.bus.request<object, ValidationStartedReply>(Commands.validateModel, { actor: 'alice', modelId, onDevice }, { timeoutMs: 10_000 });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const current = await report(modelId);
    if (current.validationId === validationId && current.status !== 'Running') return current;
    if (Date.now() > deadline) throw new Error(`no verdict: ${JSON.stringify(current)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const loadNote = (r: ValidationReportView) => r.notes.find((n) => n.startsWith('load: '));

beforeAll(async () => {
  t = await startTestRuntime();
  const bytes = makeAddModel({ addend: 1 });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  modelId = 'adder-1.0.0';
  const artifactKey = `models/adder/1.0.0/${sha256}.onnx`;
  await t.runtime.artifacts.put(artifactKey, Readable.from([bytes]));
  const now = t.clock.now().toISOString();
  await handleCommand(t.runtime.eventStore, Streams.model(modelId), modelDecider, {
    type: 'UploadModel', data: { modelId, name: 'adder', version: '1.0.0', framework: 'onnx', sha256, sizeBytes: bytes.length, artifactKey, metadata: {} }, metadata: { now },
  }, { actor: 'alice', now });
}, 60_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await t?.cleanup();
});

describe('validator - load test and benchmark on a validation device', () => {
  it('rejects, saying so, when asked for a device but not configured to reach one', async () => {
    await boot({});
    const r = await validateOn(true);
    expect(r).toMatchObject({ status: 'Failed', ranOn: 'any Online device tagged validation' });
    expect(loadNote(r)).toBe('load: not run: the validator is not configured to dispatch to devices (ValidatorOptions.device is unset)');
    expect(r.checks.find((c) => c.name === 'load')).toMatchObject({ actual: false, passed: false });
    await expect(t.runtime.bus.request(Commands.validateModel, { actor: 'alice', modelId, onDevice: 'not a device!' }, { timeoutMs: 5_000 }))
      .rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('onDevice must be true, false or a device id') });
  });

  it('rejects when the device registry does not answer, and when no Online device is tagged validation', async () => {
    await boot({ device });
    expect(loadNote(await validateOn(true))).toMatch(/^load: not run: the device registry did not list the validation devices: /);
    await play(Queries.listDevices, () => ({ items: [], total: 0 }));
    expect(loadNote(await validateOn(true))).toBe('load: not run: no Online device is tagged validation');
  });

  it('rejects naming the device when it does not answer, or answers that the model did not load', async () => {
    await boot({ device });
    const seen: DeviceValidationRequest[] = [];
    await play(Queries.listDevices, (q) => {
      expect(q).toMatchObject({ tag: 'validation', status: 'Online' });
      return { items: [onlineDevice('dev-b'), onlineDevice('dev-a')], total: 2 };
    });
    const silent = await validateOn('dev-a');
    expect(silent.ranOn).toBe('dev-a');
    expect(loadNote(silent)).toMatch(/^load: device dev-a did not answer: /);
    await play(DeviceSubjects.validate('dev-a'), (request): DeviceValidationReply => {
      seen.push(request as DeviceValidationRequest);
      return { validationId: (request as DeviceValidationRequest).validationId, deviceId: 'dev-a', ok: false, reason: 'model failed to load: boom' };
    }, false);
    // `true` picks the first Online validation device by id.
    const refused = await validateOn(true);
    expect(refused).toMatchObject({ status: 'Failed', ranOn: 'dev-a' });
    expect(loadNote(refused)).toBe('load: device dev-a: model failed to load: boom');
    expect(seen[0]).toMatchObject({ type: 'validate', modelId, inferences: 100, warmup: 3, release: { manifest: { modelId, sizeBytes: expect.any(Number) } } });
    expect(seen[0]!.artifactUrl).toMatch(/^http:\/\/127\.0\.0\.1:9\/.*adder\/1\.0\.0\/.*\.onnx\?/);
  });
});

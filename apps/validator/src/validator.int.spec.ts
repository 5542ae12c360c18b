import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import {
  Commands, Queries, Streams,
  type Framework, type ValidateModelCommand, type ValidationReportView, type ValidationStartedReply,
} from '@hotswap/contracts';
import { modelDecider } from '@hotswap/domain';
import { handleCommand } from '@hotswap/infrastructure';
import { makeAddModel, makeSlowModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ValidatorModule } from './validator.module.js';

jest.setTimeout(30_000);

let t: TestRuntime;
let validator: INestApplicationContext;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const boot = async () => {
  const context = await NestFactory.createApplicationContext(ValidatorModule.register(t.runtime), { logger: false });
  await context.init();
  return context;
};

/** Stores the artifact and records `ModelUploaded`, as the model registry does. */
async function upload(name: string, version: string, bytes: Buffer, framework: Framework = 'onnx'): Promise<string> {
  const modelId = `${name}-${version}`;
  const artifactKey = `models/${name}/${version}/${sha256(bytes)}.${framework}`;
  await t.runtime.artifacts.put(artifactKey, Readable.from([bytes]));
  const now = t.clock.now().toISOString();
  await handleCommand(t.runtime.eventStore, Streams.model(modelId), modelDecider, {
    type: 'UploadModel',
    data: { modelId, name, version, framework, sha256: sha256(bytes), sizeBytes: bytes.length, artifactKey, metadata: {} },
    metadata: { now },
  }, { actor: 'alice', now });
  return modelId;
}

const validate = (modelId: string, body: Partial<ValidateModelCommand> = {}) =>
  t.runtime.bus.request<object, ValidationStartedReply>(Commands.validateModel, { actor: 'alice', modelId, ...body }, { timeoutMs: 10_000 });
const report = (id: string) => t.runtime.bus.request<{ id: string }, ValidationReportView>(Queries.getValidationReport, { id }, { timeoutMs: 5_000 });
const eventTypes = async (modelId: string) => (await t.runtime.eventStore.readStream(Streams.model(modelId))).map((e) => e.type);

/** The finished report of `modelId` (of run `validationId` when given). */
async function finished(modelId: string, validationId?: string): Promise<ValidationReportView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const current = await report(modelId).catch(() => undefined);
    if (current && current.status !== 'Running' && (validationId === undefined || current.validationId === validationId)) return current;
    if (Date.now() > deadline) throw new Error(`validation of ${modelId} did not finish: ${JSON.stringify(current)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const failing = (r: ValidationReportView) => r.checks.filter((c) => !c.passed).map((c) => c.name);

beforeAll(async () => {
  t = await startTestRuntime();
  validator = await boot();
}, 60_000);

afterAll(async () => {
  await validator?.close();
  await t?.cleanup();
});

describe('validator - on upload', () => {
  it('validates a fast ONNX model once, recording each step as an event, and passes it', async () => {
    const started = Date.now();
    const modelId = await upload('adder', '1.0.0', makeAddModel({ addend: 1 }));
    const result = await finished(modelId);
    console.log(`validation of a ${makeAddModel({ addend: 1 }).length}-byte add model took ${Date.now() - started} ms (upload recorded → report Passed)`);

    expect(result).toMatchObject({ modelId, status: 'Passed', ranOn: 'validator', errorRate: 0, notes: ['accuracy: not run: no dataset attached'] });
    expect(result.latencyMs!.p99).toBeGreaterThan(0);
    expect(result.latencyMs!.p50).toBeLessThanOrEqual(result.latencyMs!.p99);
    expect(result.throughputPerSec).toBeGreaterThan(10);
    expect(result.memoryMb).toBeGreaterThanOrEqual(0);
    expect(result.finishedAt).toBeDefined();
    expect(result.checks.map((c) => [c.name, c.passed])).toEqual([
      ['checksum', true], ['format', true], ['load', true], ['latencyP99Ms', true], ['minThroughputPerSec', true], ['maxMemoryMb', true], ['maxErrorRate', true],
    ]);
    expect(result.steps.map((s) => [s.step, s.outcome])).toEqual([['artifact', 'Completed'], ['load', 'Completed'], ['benchmark', 'Completed'], ['accuracy', 'Skipped']]);
    expect(result.steps[2]!.measurements).toMatchObject({ inferences: 100 });
    expect(await eventTypes(modelId)).toEqual([
      'ModelUploaded', 'ModelValidationStarted', 'ModelValidationStepRecorded', 'ModelValidationStepRecorded', 'ModelValidationStepRecorded',
      'ModelValidationStepRecorded', 'ModelValidated',
    ]);
  });

  it('forgets a deleted version and validates a re-upload of the same id afresh', async () => {
    const modelId = await upload('phoenix', '1.0.0', makeAddModel({ addend: 1 }));
    const first = await finished(modelId);
    const now = t.clock.now().toISOString();
    await handleCommand(t.runtime.eventStore, Streams.model(modelId), modelDecider, { type: 'DeleteModelVersion', data: { modelId }, metadata: { now } }, { actor: 'alice', now });
    await expect(async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) { await report(modelId); await new Promise((r) => setTimeout(r, 20)); }
    }).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const bytes = makeAddModel({ addend: 7 });
    await upload('phoenix', '1.0.0', bytes);
    const second = await finished(modelId);
    expect(second.validationId).not.toBe(first.validationId);
    expect(second.status).toBe('Passed');
    expect(second.checks.find((c) => c.name === 'checksum')?.actual).toBe(sha256(bytes));
  });

  it('generates inputs for symbolic dimensions', async () => {
    const modelId = await upload('batched', '1.0.0', makeAddModel({ addend: 1, shape: ['batch', 3] }));
    expect((await finished(modelId)).status).toBe('Passed');
  });

  it('never passes a TensorFlow or zip model silently: structure checked, runtimeAvailable fails, and the report says no benchmark ran', async () => {
    const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60, 1)]);
    for (const framework of ['tensorflow', 'zip'] as const) {
      const modelId = await upload(`structure-${framework}`, '1.0.0', zip, framework);
      const result = await finished(modelId);
      expect(result).toMatchObject({ status: 'Failed', latencyMs: null, throughputPerSec: null, memoryMb: null, errorRate: null });
      expect(result.checks).toEqual([
        { name: 'checksum', threshold: sha256(zip), actual: sha256(zip), passed: true },
        { name: 'format', threshold: framework, actual: framework, passed: true },
        { name: 'runtimeAvailable', threshold: true, actual: false, passed: false },
      ]);
      expect(result.notes[0]).toBe(`no runtime for ${framework} in the validator: structure checked only; no load test or benchmark ran`);
      expect((await eventTypes(modelId)).at(-1)).toBe('ModelRejected');
    }
  });
});

describe('validator - on request', () => {
  it('rejects a slow model under a tight latencyP99Ms, naming the check, and passes it again under the defaults', async () => {
    const modelId = await upload('slow', '1.0.0', makeSlowModel({ addend: 1, size: 256, depth: 16 }));
    expect((await finished(modelId)).status).toBe('Passed');

    const reply = await validate(modelId, { thresholds: { latencyP99Ms: 0.001 } });
    expect(reply).toMatchObject({ id: modelId, status: 'Validating' });
    const tight = await finished(modelId, reply.validationId);
    expect(tight.status).toBe('Failed');
    expect(failing(tight)).toEqual(['latencyP99Ms']);
    expect(tight.checks.find((c) => c.name === 'latencyP99Ms')).toMatchObject({ threshold: 0.001, passed: false });
    expect(tight.thresholds.latencyP99Ms).toBe(0.001);
    expect((await eventTypes(modelId)).at(-1)).toBe('ModelRejected');

    const again = await validate(modelId);
    expect((await finished(modelId, again.validationId)).status).toBe('Passed');
    expect((await eventTypes(modelId)).filter((e) => e === 'ModelValidationStarted')).toHaveLength(3);
  });

  it('fails the artifact check when the stored bytes changed after upload, skipping load and benchmark', async () => {
    const bytes = makeAddModel({ addend: 2 });
    const modelId = await upload('tampered', '1.0.0', bytes);
    await finished(modelId);
    const key = `models/tampered/1.0.0/${sha256(bytes)}.onnx`;
    const altered = makeAddModel({ addend: 3 });
    await t.runtime.artifacts.put(key, Readable.from([altered]));

    const { validationId } = await validate(modelId);
    const result = await finished(modelId, validationId);
    expect(result.status).toBe('Failed');
    expect(result.checks[0]).toEqual({ name: 'checksum', threshold: sha256(bytes), actual: sha256(altered), passed: false });
    expect(result.steps.map((s) => [s.step, s.outcome])).toEqual([['artifact', 'Failed'], ['load', 'Skipped'], ['benchmark', 'Skipped'], ['accuracy', 'Skipped']]);
    expect(result.notes[0]).toContain(`artifact: checksum mismatch: the stored bytes hash to ${sha256(altered)}, the upload recorded ${sha256(bytes)}`);
  });

  it('rejects a model onnxruntime cannot load, naming the error and skipping the benchmark', async () => {
    const broken = Buffer.concat([Buffer.from([0x08, 0x07]), Buffer.from('not really a graph')]);
    const modelId = await upload('broken', '1.0.0', broken);
    const result = await finished(modelId);
    expect(result.status).toBe('Failed');
    expect(failing(result)).toEqual(['load', 'latencyP99Ms', 'minThroughputPerSec', 'maxMemoryMb', 'maxErrorRate']);
    expect(result.steps.map((s) => [s.step, s.outcome])).toEqual([['artifact', 'Completed'], ['load', 'Failed'], ['benchmark', 'Skipped'], ['accuracy', 'Skipped']]);
    expect(result.notes[0]).toMatch(/^load: onnxruntime could not load the model: /);
  });

  it('fails the format check for bytes that are not what was declared', async () => {
    const modelId = await upload('mislabelled', '1.0.0', Buffer.from('plain text'), 'pytorch');
    const result = await finished(modelId);
    expect(result.checks.find((c) => c.name === 'format')).toEqual({ name: 'format', threshold: 'pytorch', actual: 'unknown', passed: false });
  });

  it('fails the artifact check when the artifact is gone from the store', async () => {
    const bytes = makeAddModel({ addend: 7 });
    const modelId = await upload('vanished', '1.0.0', bytes);
    await finished(modelId);
    await t.runtime.artifacts.delete(`models/vanished/1.0.0/${sha256(bytes)}.onnx`);
    const { validationId } = await validate(modelId);
    const result = await finished(modelId, validationId);
    expect(result.steps[0]).toMatchObject({ step: 'artifact', outcome: 'Failed', detail: expect.stringContaining('could not be read') });
  });

  it('answers 409 while a run is going on, naming it', async () => {
    const modelId = await upload('busy', '1.0.0', makeSlowModel({ addend: 1, size: 256, depth: 32 }));
    await finished(modelId);
    const first = await validate(modelId);
    await expect(validate(modelId)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`is being validated (run ${first.validationId}`) });
    expect((await report(modelId)).validationId).toBe(first.validationId);
    await finished(modelId, first.validationId);
  });

  it('answers NOT_FOUND naming an unknown model, for validation and for the report', async () => {
    await expect(validate('ghost-1.0.0')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'model ghost-1.0.0 not found' });
    await expect(report('ghost-1.0.0')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'model ghost-1.0.0 not found' });
    expect(await eventTypes('ghost-1.0.0')).toEqual([]);
  });

  it.each([
    [{ thresholds: { latencyP99Ms: -1 } }, 'BAD_REQUEST', 'thresholds.latencyP99Ms: latencyP99Ms must be > 0 (milliseconds)'],
    [{ thresholds: { maxErrorRate: 2 } }, 'BAD_REQUEST', 'maxErrorRate must be between 0 and 1'],
    [{ thresholds: { p99: 3 } }, 'BAD_REQUEST', 'thresholds.p99: property p99 should not exist'],
    [{ modelId: '' }, 'BAD_REQUEST', 'modelId must be a non-empty string'],
    [{ actor: undefined }, 'BAD_REQUEST', 'actor is required'],
    [{ datasetId: 'ds-1' }, 'NOT_FOUND', 'dataset ds-1 not found'],
  ])('refuses %j with %s', async (body, code, message) => {
    await expect(validate('adder-1.0.0', body as Partial<ValidateModelCommand>)).rejects.toMatchObject({ code, message: expect.stringContaining(message) });
  });
});

describe('validator - options', () => {
  it('refuses bad defaults at registration', () => {
    expect(() => ValidatorModule.register(t.runtime, { thresholds: { latencyP99Ms: 0 } })).toThrow('ValidatorOptions: thresholds.latencyP99Ms must be a number > 0');
    expect(() => ValidatorModule.register(t.runtime, { benchmarkInferences: 0 })).toThrow('ValidatorOptions.benchmarkInferences must be an integer >= 1, got 0');
  });
});

describe('validator - restart', () => {
  it('does not validate a model twice after a restart, and validates what was uploaded while it was down', async () => {
    const before = await eventTypes('adder-1.0.0');
    await validator.close();
    const modelId = await upload('while-down', '1.0.0', makeAddModel({ addend: 5 }));
    validator = await boot();

    expect((await finished(modelId)).status).toBe('Passed');
    expect(await eventTypes('adder-1.0.0')).toEqual(before);
    expect((await eventTypes(modelId)).filter((e) => e === 'ModelValidationStarted')).toHaveLength(1);
  });
});

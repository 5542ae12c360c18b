import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Commands, Queries, Streams, type ValidationReportView, type ValidationStartedReply } from '@hotswap/contracts';
import { modelDecider, type ModelCommand } from '@hotswap/domain';
import { handleCommand } from '@hotswap/infrastructure';
import { makeAddModel, makeSlowModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ValidatorModule } from './validator.module.js';
import type { ValidatorOptions } from './validator.options.js';

jest.setTimeout(60_000);

const STALE_RUN_MS = 60_000;
let t: TestRuntime;
const contexts: INestApplicationContext[] = [];

const boot = async (options: ValidatorOptions = {}) => {
  const context = await NestFactory.createApplicationContext(ValidatorModule.register(t.runtime, { staleRunMs: STALE_RUN_MS, ...options }), { logger: false });
  await context.init();
  contexts.push(context);
  return context;
};
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const modelCommand = (command: Omit<ModelCommand, 'metadata'>, actor = 'alice') => {
  const now = t.clock.now().toISOString();
  return handleCommand(t.runtime.eventStore, Streams.model(command.data.modelId), modelDecider, { ...command, metadata: { now } } as ModelCommand, { actor, now });
};

async function upload(name: string, version: string, bytes: Buffer): Promise<string> {
  const modelId = `${name}-${version}`;
  const artifactKey = `models/${name}/${version}/${sha256(bytes)}.onnx`;
  await t.runtime.artifacts.put(artifactKey, Readable.from([bytes]));
  await modelCommand({
    type: 'UploadModel',
    data: { modelId, name, version, framework: 'onnx', sha256: sha256(bytes), sizeBytes: bytes.length, artifactKey, metadata: {} },
  });
  return modelId;
}

const validate = (modelId: string) =>
  t.runtime.bus.request<object, ValidationStartedReply>(Commands.validateModel, { actor: 'alice', modelId }, { timeoutMs: 10_000 });
const report = (id: string) => t.runtime.bus.request<{ id: string }, ValidationReportView>(Queries.getValidationReport, { id }, { timeoutMs: 5_000 });
const eventTypes = async (modelId: string) => (await t.runtime.eventStore.readStream(Streams.model(modelId))).map((e) => e.type);

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const finished = (modelId: string, validationId?: string) => until(`the report of ${modelId}`, async () => {
  const current = await report(modelId);
  return current.status !== 'Running' && (validationId === undefined || current.validationId === validationId) ? current : undefined;
});

beforeAll(async () => {
  t = await startTestRuntime();
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close();
  await t?.cleanup();
});

describe('validator - abandoned runs', () => {
  it('a validator stopped mid-run leaves the model Validating; the next one rejects it with the reason, and validate and delete work again', async () => {
    // A benchmark far too long to finish: the close lands in it.
    const first = await boot({ benchmarkInferences: 1_000_000 });
    const modelId = await upload('slow', '1.0.0', makeSlowModel({ addend: 1, size: 64, depth: 8 }));
    await until('the load step', async () => ((await eventTypes(modelId)).filter((e) => e === 'ModelValidationStepRecorded').length >= 2 ? true : undefined));
    await first.close();
    expect(await eventTypes(modelId)).toEqual(['ModelUploaded', 'ModelValidationStarted', 'ModelValidationStepRecorded', 'ModelValidationStepRecorded']);

    t.clock.advance(1_000);
    await boot();
    const abandoned = await finished(modelId);
    expect(abandoned.status).toBe('Failed');
    expect(abandoned.notes[0]).toMatch(/^abandoned after 2 of 4 steps: the validator restarted at 2026-01-01T00:00:01.000Z while the run \(started at 2026-01-01T00:00:00.000Z\) was going on$/);
    expect(abandoned.checks.at(-1)).toEqual({ name: 'runCompleted', threshold: true, actual: false, passed: false });
    expect((await eventTypes(modelId)).at(-1)).toBe('ModelRejected');

    const again = await validate(modelId);
    expect((await finished(modelId, again.validationId)).status).toBe('Passed');
    await expect(modelCommand({ type: 'DeleteModelVersion', data: { modelId } })).resolves.toMatchObject({ events: [{ type: 'ModelVersionDeleted' }] });
  });

  it('answers 409 while a foreign run is younger than staleRunMs, and abandons it and starts anew once it is older', async () => {
    const modelId = await upload('adder', '1.0.0', makeAddModel({ addend: 1 }));
    const passed = await finished(modelId);
    expect(passed.status).toBe('Passed');
    // A run of another validator, started after this one booted.
    t.clock.advance(1_000);
    await modelCommand({ type: 'StartValidation', data: { modelId, validationId: 'val-foreign', trigger: 'request', ranOn: 'validator' } }, 'system:validator');
    await expect(validate(modelId)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('run val-foreign') });

    t.clock.advance(STALE_RUN_MS + 1);
    const fresh = await validate(modelId);
    expect((await finished(modelId, fresh.validationId)).status).toBe('Passed');
    const events = (await t.runtime.eventStore.readStream(Streams.model(modelId))).slice(-7);
    expect(events[0]).toMatchObject({ type: 'ModelRejected', data: { validationId: 'val-foreign' } });
    expect((events[0]!.data as { report: ValidationReportView }).report.notes[0])
      .toBe(`abandoned after 0 of 4 steps: no result ${STALE_RUN_MS + 1} ms after the run started at 2026-01-01T00:00:02.000Z (staleRunMs ${STALE_RUN_MS}); its validator is presumed dead`);
    expect(events.map((e) => e.type)).toEqual([
      'ModelRejected', 'ModelValidationStarted', 'ModelValidationStepRecorded', 'ModelValidationStepRecorded', 'ModelValidationStepRecorded',
      'ModelValidationStepRecorded', 'ModelValidated',
    ]);
  });

  it('refuses a staleRunMs that is not a positive integer, naming the option and its unit', () => {
    expect(() => ValidatorModule.register(t.runtime, { staleRunMs: 0 })).toThrow('ValidatorOptions.staleRunMs must be an integer >= 1 (milliseconds), got 0');
  });
});

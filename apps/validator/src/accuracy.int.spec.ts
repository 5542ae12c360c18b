import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import {
  Commands, Queries, Streams,
  type DatasetView, type RegisterDatasetCommand, type StagedDataset, type ValidateModelCommand, type ValidationReportView,
  type ValidationStartedReply,
} from '@hotswap/contracts';
import { modelDecider } from '@hotswap/domain';
import { handleCommand } from '@hotswap/infrastructure';
import { makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { datasetKey } from './datasets/dataset-files.js';
import { writeNpy } from './datasets/npy.js';
import { ValidatorModule } from './validator.module.js';

/**
 * Datasets and the accuracy step on real NATS + JetStream, PGlite, a temp artifact store and
 * onnxruntime: `register-dataset` / `get-dataset`, then validations that run a dataset through the
 * model and its baseline (the latest Validated version of the same name).
 */

jest.setTimeout(30_000);

let t: TestRuntime;
let validator: INestApplicationContext;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function upload(name: string, version: string, bytes: Buffer): Promise<string> {
  const modelId = `${name}-${version}`;
  const artifactKey = `models/${name}/${version}/${sha256(bytes)}.onnx`;
  await t.runtime.artifacts.put(artifactKey, Readable.from([bytes]));
  const now = t.clock.now().toISOString();
  await handleCommand(t.runtime.eventStore, Streams.model(modelId), modelDecider, {
    type: 'UploadModel',
    data: { modelId, name, version, framework: 'onnx', sha256: sha256(bytes), sizeBytes: bytes.length, artifactKey, metadata: {} },
    metadata: { now },
  }, { actor: 'alice', now });
  return modelId;
}

/** Stages `files` as the gateway does and asks the validator to register them. */
let lastStaged: string[] = [];
async function register(fields: Omit<RegisterDatasetCommand, 'actor' | 'staged'>, body: string | object | { npy: Record<string, Buffer> }): Promise<DatasetView> {
  let staged: StagedDataset;
  if (typeof body === 'object' && 'npy' in body) {
    const keys: Record<string, string> = {};
    for (const [part, bytes] of Object.entries((body as { npy: Record<string, Buffer> }).npy)) {
      keys[part] = `staging/${randomUUID()}`;
      await t.runtime.artifacts.put(keys[part]!, Readable.from([bytes]));
    }
    lastStaged = Object.values(keys);
    const { labels, ...inputs } = keys;
    staged = { format: 'npy', inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k.replace(/^inputs\./, ''), v])), labels: labels! };
  } else {
    const key = `staging/${randomUUID()}`;
    await t.runtime.artifacts.put(key, Readable.from([Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))]));
    lastStaged = [key];
    staged = { format: 'json', key };
  }
  return t.runtime.bus.request<RegisterDatasetCommand, DatasetView>(Commands.registerDataset, { actor: 'alice', ...fields, staged }, { timeoutMs: 10_000 });
}

const getDataset = (id: string) => t.runtime.bus.request<{ id: string }, DatasetView>(Queries.getDataset, { id }, { timeoutMs: 5_000 });
const validate = (modelId: string, body: Partial<ValidateModelCommand> = {}) =>
  t.runtime.bus.request<object, ValidationStartedReply>(Commands.validateModel, { actor: 'alice', modelId, ...body }, { timeoutMs: 10_000 });
const report = (id: string) => t.runtime.bus.request<{ id: string }, ValidationReportView>(Queries.getValidationReport, { id }, { timeoutMs: 5_000 });

async function finished(modelId: string, validationId?: string): Promise<ValidationReportView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const current = await report(modelId).catch(() => undefined);
    if (current && current.status !== 'Running' && (validationId === undefined || current.validationId === validationId)) return current;
    if (Date.now() > deadline) throw new Error(`validation of ${modelId} did not finish: ${JSON.stringify(current)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function validated(modelId: string, datasetId: string): Promise<ValidationReportView> {
  const { validationId } = await validate(modelId, { datasetId });
  return finished(modelId, validationId);
}

/** Samples x of shape [1, 3] and labels x + 1: what `makeAddModel({ addend: 1, shape: [1, 3] })` answers. */
const xs = [[0, 1, 2], [5, -1, 3], [0.5, 0.25, 8], [10, 20, 30]];
const plusOne = { inputs: { x: { type: 'float32', dims: [1, 3], data: xs } }, labels: xs.map((x) => x.map((v) => v + 1)) };
/** How many of the files the last `register` staged are still there. */
const stagingLeft = async () => (await Promise.all(lastStaged.map((key) => t.runtime.artifacts.exists(key)))).filter(Boolean).length;
const datasetRows = async () => (await t.runtime.db.query<{ n: number }>('SELECT count(*)::int AS n FROM validator_datasets')).rows[0]!.n;

beforeAll(async () => {
  t = await startTestRuntime();
  validator = await NestFactory.createApplicationContext(ValidatorModule.register(t.runtime), { logger: false });
  await validator.init();
}, 60_000);

afterAll(async () => {
  await validator?.close();
  await t?.cleanup();
});

describe('datasets', () => {
  it('registers a JSON dataset: stored as datasets/<id>.json, DatasetRegistered recorded, staging removed, readable by id', async () => {
    const view = await register({ name: 'adder-plus-one', task: 'regression', tolerance: 0.0001 }, plusOne);
    expect(view).toMatchObject({
      name: 'adder-plus-one', task: 'regression', tolerance: 0.0001, inputs: [{ name: 'x', type: 'float32', dims: [1, 3] }], samples: 4, registeredBy: 'alice',
    });
    expect(view.id).toMatch(/^ds-/);
    expect(await getDataset(view.id)).toEqual(view);
    expect(await t.runtime.artifacts.stat(datasetKey(view.id))).toMatchObject({ sha256: view.sha256, sizeBytes: view.sizeBytes });
    const events = await t.runtime.eventStore.readStream(Streams.dataset(view.id));
    expect(events.map((e) => [e.type, e.metadata?.['schemaVersion']])).toEqual([['DatasetRegistered', 1]]);
    expect(await stagingLeft()).toBe(0);
  });

  it('registers an NPY dataset (one file per input, first axis = samples, and one for the labels)', async () => {
    const view = await register({ name: 'classes' }, {
      npy: {
        'inputs.x': writeNpy('float32', [3, 1, 3], [9, 0, 0, 0, 9, 0, 0, 0, 9]),
        labels: writeNpy('int64', [3], [0, 1, 2]),
      },
    });
    expect(view).toMatchObject({ task: 'classification', inputs: [{ name: 'x', type: 'float32', dims: [1, 3] }], samples: 3 });
    expect(view).not.toHaveProperty('tolerance');
    expect(await stagingLeft()).toBe(0);
  });

  it.each([
    ['sample counts that differ', plusOne.inputs, [[1, 2, 3]], 'inputs.x.data has 4 samples but labels has 1; they must match'],
    ['an unknown dtype', { x: { type: 'float128', dims: [1, 3], data: xs } }, plusOne.labels, 'inputs.x.type must be one of float32, float64'],
    ['data not matching dims', { x: { type: 'float32', dims: [1, 2], data: xs } }, plusOne.labels, 'inputs.x.data[0] has 3 values but dims [1, 2] need 2'],
    ['a dimension that is not positive', { x: { type: 'float32', dims: [0, 3], data: xs } }, plusOne.labels, 'inputs.x.dims[0] must be a positive integer'],
    ['a value out of an integer type', { x: { type: 'uint8', dims: [1], data: [[256]] } }, [[1]], 'inputs.x.data[0][0] must be an integer from 0 to 255 for uint8, got 256'],
    ['no inputs', {}, plusOne.labels, 'inputs must name at least one model input'],
  ])('refuses %s with BAD_REQUEST naming the field, storing nothing', async (_case, inputs, labels, message) => {
    const before = await datasetRows();
    await expect(register({ name: 'bad', task: 'regression' }, { inputs, labels })).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining(`dataset bad: ${message}`) });
    expect(await datasetRows()).toBe(before);
    expect(await stagingLeft()).toBe(0);
  });

  it.each([
    ['a class label that is not an index', { name: 'bad' }, { inputs: plusOne.inputs, labels: [0, 1, 2.5, 3] }, 'labels[2] must be a class index (an integer >= 0)'],
    ['a tolerance on a classification dataset', { name: 'bad', tolerance: 0.1 }, plusOne, 'tolerance applies to regression datasets only'],
    ['a body that is not JSON', { name: 'bad' }, '{"inputs": ', 'the dataset body is not JSON'],
    ['an NPY file in Fortran order', { name: 'bad' }, { npy: { 'inputs.x': fortran(writeNpy('float32', [1, 3], [1, 2, 3])), labels: writeNpy('int64', [1], [0]) } },
      'inputs.x: NPY arrays in Fortran order are not supported'],
    ['an NPY file with a big-endian dtype', { name: 'bad' }, { npy: { 'inputs.x': bigEndian(writeNpy('float32', [1, 3], [1, 2, 3])), labels: writeNpy('int64', [1], [0]) } },
      'inputs.x: NPY dtype >f4 is not supported'],
    ['a file that is not NPY', { name: 'bad' }, { npy: { 'inputs.x': Buffer.from('hello'), labels: writeNpy('int64', [1], [0]) } }, 'inputs.x: not an NPY file'],
    ['an NPY file cut short', { name: 'bad' }, { npy: { 'inputs.x': writeNpy('float32', [2, 3], [1, 2, 3, 4, 5, 6]).subarray(0, 140), labels: writeNpy('int64', [2], [0, 1]) } },
      'inputs.x: the NPY data holds 12 bytes, shape (2, 3) of <f4 needs 24'],
  ])('refuses %s with BAD_REQUEST', async (_case, fields, body, message) => {
    await expect(register(fields, body)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining(message) });
    expect(await stagingLeft()).toBe(0);
  });

  it('refuses a command whose staged keys are outside staging/, and answers NOT_FOUND for an unknown dataset', async () => {
    await expect(t.runtime.bus.request(Commands.registerDataset, { actor: 'alice', name: 'x', staged: { format: 'json', key: 'models/secret' } }, { timeoutMs: 5_000 }))
      .rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('keys under staging/') });
    await expect(getDataset('ds-ghost')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'dataset ds-ghost not found' });
  });
});

describe('accuracy step', () => {
  it('passes v1 with accuracy 1 and no baseline, rejects v2 (adds 2) against v1, passes v3 against v1 again', async () => {
    const dataset = await register({ name: 'adder3-plus-one', task: 'regression' }, plusOne);
    const v1 = await upload('adder3', '1.0.0', makeAddModel({ addend: 1, shape: [1, 3] }));
    await finished(v1);
    const first = await validated(v1, dataset.id);
    expect(first).toMatchObject({ status: 'Passed', accuracy: 1, datasetId: dataset.id });
    expect(first).not.toHaveProperty('baselineAccuracy');
    expect(first.checks.map((c) => c.name)).not.toContain('minAccuracyRatio');
    expect(first.notes).toEqual([
      `accuracy: dataset ${dataset.id} (4 samples, regression within 0.001): accuracy 1; no baseline: no other Validated version of adder3; accuracy recorded, minAccuracyRatio not checked`,
    ]);
    expect(first.steps.at(-1)).toMatchObject({ step: 'accuracy', outcome: 'Completed', measurements: { accuracy: 1, samples: 4, datasetId: dataset.id } });

    const v2 = await upload('adder3', '2.0.0', makeAddModel({ addend: 2, shape: [1, 3] }));
    expect((await finished(v2)).status).toBe('Passed');
    const second = await validated(v2, dataset.id);
    expect(second).toMatchObject({ status: 'Failed', accuracy: 0, baselineAccuracy: 1, baselineModelId: v1 });
    expect(second.checks.filter((c) => !c.passed)).toEqual([{ name: 'minAccuracyRatio', threshold: 0.9, actual: 0, passed: false }]);
    expect((await t.runtime.eventStore.readStream(Streams.model(v2))).at(-1)!.type).toBe('ModelRejected');

    // v2 is Rejected now, so v1 is still the latest Validated version.
    const v3 = await upload('adder3', '2.1.0', makeAddModel({ addend: 1, shape: [1, 3] }));
    await finished(v3);
    const third = await validated(v3, dataset.id);
    expect(third).toMatchObject({ status: 'Passed', accuracy: 1, baselineAccuracy: 1, baselineModelId: v1 });
    expect(third.checks.find((c) => c.name === 'minAccuracyRatio')).toEqual({ name: 'minAccuracyRatio', threshold: 0.9, actual: 1, passed: true });
  });

  it('reports no baseline, and checks no ratio, when the baseline cannot take the dataset', async () => {
    const dataset = await register({ name: 'renamed-plus-one', task: 'regression' }, plusOne);
    const v1 = await upload('renamed', '1.0.0', makeAddModel({ addend: 1, shape: [1, 3], inputName: 'features' }));
    expect((await finished(v1)).status).toBe('Passed');
    const v2 = await upload('renamed', '1.1.0', makeAddModel({ addend: 1, shape: [1, 3] }));
    await finished(v2);
    const result = await validated(v2, dataset.id);
    expect(result).toMatchObject({ status: 'Passed', accuracy: 1 });
    expect(result).not.toHaveProperty('baselineModelId');
    expect(result.notes[0]).toContain(`no baseline: the baseline ${v1} cannot run the dataset: the dataset has no input "features"`);
  });

  it('scores a classification dataset by argmax with macro precision and recall', async () => {
    // Labels 0, 1, 2, 2; the model (x + 1) predicts the argmax of x: 0, 1, 2, 1.
    const data = [[9, 0, 0], [0, 9, 0], [0, 0, 9], [0, 9, 1]];
    const dataset = await register({ name: 'three-classes' }, { inputs: { x: { type: 'float32', dims: [1, 3], data } }, labels: [0, 1, 2, 2] });
    const modelId = await upload('classifier', '1.0.0', makeAddModel({ addend: 1, shape: [1, 3] }));
    await finished(modelId);
    const result = await validated(modelId, dataset.id);
    // class 1: precision 1/2, recall 1; class 2: precision 1, recall 1/2; class 0: 1 and 1.
    expect(result).toMatchObject({ status: 'Passed', accuracy: 0.75, precision: 0.833333, recall: 0.833333 });
  });

  it('fails the accuracy step, and the gate, when the dataset does not fit the model', async () => {
    const dataset = await register({ name: 'wrong-input' }, { inputs: { image: { type: 'float32', dims: [1, 3], data: [[1, 2, 3]] } }, labels: [2] });
    const modelId = await upload('misfit', '1.0.0', makeAddModel({ addend: 1, shape: [1, 3] }));
    await finished(modelId);
    const result = await validated(modelId, dataset.id);
    expect(result.status).toBe('Failed');
    expect(result.checks.filter((c) => !c.passed)).toEqual([{ name: 'minAccuracyRatio', threshold: 0.9, actual: null, passed: false }]);
    expect(result.notes).toEqual([
      `accuracy: dataset ${dataset.id} does not fit the model: the dataset has no input "x", which the model needs (model inputs: x; dataset inputs: image)`,
    ]);
  });

  it('fails the accuracy step when the stored dataset is gone', async () => {
    const dataset = await register({ name: 'vanishing', task: 'regression' }, plusOne);
    const modelId = await upload('orphan', '1.0.0', makeAddModel({ addend: 1, shape: [1, 3] }));
    await finished(modelId);
    await t.runtime.artifacts.delete(datasetKey(dataset.id));
    const result = await validated(modelId, dataset.id);
    expect(result.status).toBe('Failed');
    expect(result.steps.at(-1)).toMatchObject({ step: 'accuracy', outcome: 'Failed', detail: expect.stringContaining(`dataset ${dataset.id} could not be read`) });
  });

  it('answers NOT_FOUND for validation with an unknown dataset, starting no run', async () => {
    const modelId = await upload('lonely', '1.0.0', makeAddModel({ addend: 1 }));
    await finished(modelId);
    const before = (await t.runtime.eventStore.readStream(Streams.model(modelId))).length;
    await expect(validate(modelId, { datasetId: 'ds-unknown' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'dataset ds-unknown not found' });
    expect((await t.runtime.eventStore.readStream(Streams.model(modelId))).length).toBe(before);
  });
});

/** The same NPY file claiming Fortran order. */
function fortran(npy: Buffer): Buffer {
  return Buffer.from(npy.toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1');
}

function bigEndian(npy: Buffer): Buffer {
  return Buffer.from(npy.toString('latin1').replace("'<f4'", "'>f4'"), 'latin1');
}

import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { Commands, Queries, type ByIdQuery, type RegisterDatasetCommand, type Role } from '@hotswap/contracts';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness.js';

/**
 * `POST /api/v1/datasets` (JSON and NPY multipart) and `GET /api/v1/datasets/{id}` against a real
 * nats-server and a real local artifact store; the test plays the validator on NATS.
 */

jest.setTimeout(20_000);

const MAX_FILE_BYTES = 4096;
let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness('datasets', { maxUploadBytes: MAX_FILE_BYTES, uploadTimeoutMs: 1_500 });
}, 30_000);

afterAll(async () => {
  await harness?.close();
});

beforeEach(async () => {
  await harness.resetHandlers();
});

const serve = <T>(subject: string, handler: (payload: T) => unknown) => harness.serve(subject, handler);
const call: GatewayHarness['call'] = (...args) => harness.call(...args);

const rejection = (code: string, message: string) => Object.assign(new Error(message), { code });
/** Files left under `staging/` (directories the store keeps do not count). */
const staging = async () => (await readdir(join(harness.storeDir, 'data', 'staging'), { recursive: true, withFileTypes: true }).catch(() => []))
  .filter((entry) => entry.isFile()).map((entry) => entry.name);
/** What the validator does with the staged files once it has read them. */
const unstage = async (command: RegisterDatasetCommand) => {
  const keys = command.staged.format === 'json' ? [command.staged.key] : [...Object.values(command.staged.inputs), command.staged.labels];
  await Promise.all(keys.map((key) => harness.store.delete(key)));
};

const postJson = (body: unknown, roles: Role[] = ['ModelDeveloper']) => call('/api/v1/datasets', roles, { method: 'POST', body: JSON.stringify(body) });
const postForm = (form: FormData, roles: Role[] = ['ModelDeveloper']) => call('/api/v1/datasets', roles, { method: 'POST', body: form });
const npyPart = (bytes: string) => new Blob([Buffer.from(bytes)]);

const dataset = { name: 'adder-plus-one', task: 'regression', tolerance: 0.01, inputs: { x: { type: 'float32', dims: [1, 3], data: [[1, 2, 3]] } }, labels: [[2, 3, 4]] };
const view = { id: 'ds-1', name: 'adder-plus-one', task: 'regression', inputs: [{ name: 'x', type: 'float32', dims: [1, 3] }], samples: 1 };

describe('POST /api/v1/datasets (JSON)', () => {
  it('stages inputs and labels, asks the validator with the caller as actor, and answers 201 with the dataset', async () => {
    const stagedBodies: unknown[] = [];
    const asked = await serve<RegisterDatasetCommand>(Commands.registerDataset, async (command) => {
      if (command.staged.format === 'json') stagedBodies.push(JSON.parse(await text(await harness.store.get(command.staged.key))));
      await unstage(command);
      return view;
    });
    expect(await postJson(dataset)).toEqual({ status: 201, body: view });
    expect(asked).toEqual([{ actor: 'dora', name: 'adder-plus-one', task: 'regression', tolerance: 0.01, staged: { format: 'json', key: expect.stringMatching(/^staging\//) } }]);
    expect(stagedBodies).toEqual([{ inputs: dataset.inputs, labels: dataset.labels }]);
  });

  it.each([
    [{ ...dataset, name: 'a b' }, 'name must be letters, digits', ['name']],
    [{ ...dataset, task: 'ranking' }, 'task must be one of classification, regression', ['task']],
    [{ ...dataset, tolerance: -1 }, 'tolerance must be >= 0', ['tolerance']],
    [{ ...dataset, inputs: [1] }, 'inputs must be an object mapping each model input name', ['inputs']],
    [{ ...dataset, labels: 3 }, 'labels must be an array with one label per sample', ['labels']],
    [{ ...dataset, shuffle: true }, 'shuffle: property shuffle should not exist', ['shuffle']],
  ])('refuses %j with 400 naming the field, staging nothing', async (body, message, properties) => {
    const asked = await serve(Commands.registerDataset, () => view);
    const reply = await postJson(body);
    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain(message);
    expect(reply.body.details).toEqual({ properties });
    expect(asked).toEqual([]);
    expect(await staging()).toEqual([]);
  });

  it("passes on the validator's 400 and removes what it staged when the validator did not", async () => {
    await serve(Commands.registerDataset, () => {
      throw rejection('BAD_REQUEST', 'dataset adder-plus-one: inputs.x.data has 1 samples but labels has 2; they must match');
    });
    const reply = await postJson({ ...dataset, labels: [[2, 3, 4], [1, 1, 1]] });
    expect(reply).toEqual({
      status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'dataset adder-plus-one: inputs.x.data has 1 samples but labels has 2; they must match' },
    });
    expect(await staging()).toEqual([]);
  });

  it('refuses a Viewer and an Operator with 403, and a body that is neither JSON nor multipart with 415', async () => {
    expect((await postJson(dataset, ['Viewer'])).status).toBe(403);
    expect((await postJson(dataset, ['Operator'])).status).toBe(403);
    const plain = await call('/api/v1/datasets', ['Admin'], { method: 'POST', body: new Blob(['x,y']), headers: { 'content-type': 'text/csv' } });
    expect(plain.status).toBe(415);
    expect(plain.body.message).toBe('a dataset is application/json or multipart/form-data with NPY files, got text/csv');
  });
});

describe('POST /api/v1/datasets (NPY multipart)', () => {
  it('stages one file per input and the labels, and forwards the fields, tolerance as a number', async () => {
    const stagedFiles: Record<string, string> = {};
    const asked = await serve<RegisterDatasetCommand>(Commands.registerDataset, async (command) => {
      if (command.staged.format === 'npy') {
        for (const [name, key] of Object.entries(command.staged.inputs)) stagedFiles[name] = await text(await harness.store.get(key));
        stagedFiles['labels'] = await text(await harness.store.get(command.staged.labels));
      }
      await unstage(command);
      return view;
    });
    const form = new FormData();
    form.append('name', 'adder-plus-one');
    form.append('task', 'regression');
    form.append('tolerance', '0.5');
    form.append('inputs.x', npyPart('x-npy'));
    form.append('inputs.mask', npyPart('mask-npy'));
    form.append('labels', npyPart('labels-npy'));
    expect(await postForm(form, ['Admin'])).toEqual({ status: 201, body: view });
    expect(asked).toEqual([{
      actor: 'dora', name: 'adder-plus-one', task: 'regression', tolerance: 0.5,
      staged: { format: 'npy', inputs: { x: expect.stringMatching(/^staging\//), mask: expect.stringMatching(/^staging\//) }, labels: expect.stringMatching(/^staging\//) },
    }]);
    expect(stagedFiles).toEqual({ x: 'x-npy', mask: 'mask-npy', labels: 'labels-npy' });
    expect(await staging()).toEqual([]);
  });

  const form = (parts: Array<[string, string | Blob]>) => {
    const f = new FormData();
    for (const [name, value] of parts) f.append(name, value);
    return f;
  };
  it.each([
    ['no labels part', form([['name', 'd'], ['inputs.x', npyPart('x')]]), 400, 'an NPY dataset needs one file part "inputs.<inputName>" per model input and one "labels" part'],
    ['no input part', form([['name', 'd'], ['labels', npyPart('l')]]), 400, 'an NPY dataset needs one file part'],
    ['a tolerance that is not a number', form([['name', 'd'], ['tolerance', 'tight'], ['inputs.x', npyPart('x')], ['labels', npyPart('l')]]), 400, 'tolerance must be a number'],
    ['a missing name', form([['inputs.x', npyPart('x')], ['labels', npyPart('l')]]), 400, 'name must be letters, digits'],
    ['an unexpected file part', form([['name', 'd'], ['weights', npyPart('w')]]), 400, 'unexpected file part "weights": send each input as "inputs.<inputName>" and the labels as "labels"'],
    ['a part sent twice', form([['name', 'd'], ['labels', npyPart('l')], ['labels', npyPart('l')]]), 400, 'file part "labels" was sent more than once'],
    ['a field sent twice', form([['name', 'd'], ['name', 'e'], ['labels', npyPart('l')]]), 400, 'field "name" was sent more than once'],
    ['a file over the size limit', form([['name', 'd'], ['inputs.x', npyPart('x'.repeat(MAX_FILE_BYTES + 1))], ['labels', npyPart('l')]]), 413,
      `file part "inputs.x" is larger than the limit of ${MAX_FILE_BYTES} bytes`],
  ])('refuses %s, leaving nothing staged', async (_case, body, status, message) => {
    const asked = await serve(Commands.registerDataset, () => view);
    const reply = await postForm(body);
    expect(reply.status).toBe(status);
    expect(reply.body.message).toContain(message);
    expect(asked).toEqual([]);
    expect(await staging()).toEqual([]);
  });
});

describe('GET /api/v1/datasets/{id}', () => {
  it('returns the dataset to any role, passes on 404, and refuses a wildcard id with 400', async () => {
    const asked = await serve<ByIdQuery>(Queries.getDataset, ({ id }) => {
      if (id === 'ds-1') return view;
      throw rejection('NOT_FOUND', `dataset ${id} not found`);
    });
    expect(await call('/api/v1/datasets/ds-1', ['Viewer'])).toEqual({ status: 200, body: view });
    expect(await call('/api/v1/datasets/ds-ghost', ['Operator'])).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'dataset ds-ghost not found' } });
    const wildcard = await call('/api/v1/datasets/ds.*', ['Viewer']);
    expect(wildcard.status).toBe(400);
    expect(wildcard.body.message).toBe('dataset id "ds.*" must not contain "*", ">" or whitespace');
    expect(asked).toEqual([{ id: 'ds-1' }, { id: 'ds-ghost' }]);
  });
});

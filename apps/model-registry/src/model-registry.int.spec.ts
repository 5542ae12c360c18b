import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import {
  Commands, Queries, Streams, type ModelArtifactView, type ModelView, type Page, type UploadModelCommand,
} from '@hotswap/contracts';
import { RemoteError } from '@hotswap/infrastructure';
import { makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { buildZip } from './inspection/fixtures.js';
import { ModelRegistryModule } from './model-registry.module.js';

let t: TestRuntime;
let app: INestApplicationContext;

async function stage(bytes: Buffer) {
  const key = `staging/${Math.random().toString(36).slice(2)}`;
  const stored = await t.runtime.artifacts.put(key, Readable.from([bytes]));
  return { stagingKey: key, sha256: stored.sha256, sizeBytes: stored.sizeBytes };
}

async function upload(name: string, version: string, bytes: Buffer, framework: UploadModelCommand['framework'] = 'onnx', metadata = {}) {
  const staged = await stage(bytes);
  const command: UploadModelCommand = { actor: 'alice', name, version, framework, metadata, ...staged };
  try {
    return { view: await t.runtime.bus.request<UploadModelCommand, ModelView>(Commands.uploadModel, command, { timeoutMs: 10_000 }), staged };
  } catch (error) {
    return { error: error as RemoteError, staged };
  }
}

beforeAll(async () => {
  t = await startTestRuntime();
  app = await NestFactory.createApplicationContext(ModelRegistryModule.register(t.runtime), { logger: false });
  await app.init();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await t?.cleanup();
});

describe('model registry - upload', () => {
  it('records an ONNX model with the schema and opset read from the ModelProto, and moves the artifact out of staging', async () => {
    const { view, staged } = await upload('adder', '1.0.0', makeAddModel({ addend: 1 }), 'onnx', { description: 'adds one' });
    expect(view).toMatchObject({
      id: 'adder-1.0.0', name: 'adder', version: '1.0.0', framework: 'onnx', status: 'Uploaded', uploadedBy: 'alice',
      checksum: staged.sha256, sizeBytes: staged.sizeBytes,
      metadata: {
        description: 'adds one', opset: 13,
        inputSchema: [{ name: 'x', type: 'float32', shape: [1, 4] }], outputSchema: [{ name: 'y', type: 'float32', shape: [1, 4] }],
      },
    });
    expect(await t.runtime.artifacts.exists(staged.stagingKey)).toBe(false);
    const artifact = await t.runtime.bus.request<{ id: string }, ModelArtifactView>(Queries.getModelArtifact, { id: 'adder-1.0.0' }, { timeoutMs: 5_000 });
    expect(await t.runtime.artifacts.stat(artifact.artifactKey)).toEqual({ sha256: staged.sha256, sizeBytes: staged.sizeBytes });
    expect((await t.runtime.eventStore.readStream(Streams.model('adder-1.0.0'))).map((e) => [e.type, e.metadata?.['actor']])).toEqual([['ModelUploaded', 'alice']]);
  });

  it('refuses a second upload of the same id with CONFLICT and deletes its staged file', async () => {
    const { error, staged } = await upload('adder', '1.0.0', makeAddModel({ addend: 5 }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error?.code).toBe('CONFLICT');
    expect(error?.message).toContain('adder-1.0.0 already exists');
    expect(await t.runtime.artifacts.exists(staged.stagingKey)).toBe(false);
    expect(await t.runtime.eventStore.readStream(Streams.model('adder-1.0.0'))).toHaveLength(1);
  });

  it.each([
    ['text declared as onnx', Buffer.from('definitely not protobuf'), 'onnx', /not an ONNX/],
    ['an empty protobuf declared as onnx', Buffer.from([0x08, 0x00]), 'onnx', /ir_version is missing|not an ONNX model/],
    ['text declared as pytorch', Buffer.from('hello'), 'pytorch', /does not have the zip or pickle layout/],
    ['an ONNX file declared as zip', makeAddModel({ addend: 1 }), 'zip', /declared zip, but the artifact is an ONNX model/],
  ] as const)('refuses %s with BAD_REQUEST and leaves nothing behind', async (_label, bytes, framework, message) => {
    const { error, staged } = await upload('broken', '1.0.0', bytes, framework);
    expect(error?.code).toBe('BAD_REQUEST');
    expect(error?.message).toMatch(message);
    expect(await t.runtime.artifacts.exists(staged.stagingKey)).toBe(false);
    expect(await t.runtime.eventStore.readStream(Streams.model('broken-1.0.0'))).toEqual([]);
  });

  it('accepts PyTorch zip and pickle layouts and a plain zip', async () => {
    const zip = buildZip([{ name: 'archive/data.pkl', data: Buffer.from([0x80, 0x02, 0x7d]) }]);
    expect((await upload('torch-zip', '1.0.0', zip, 'pytorch')).view?.framework).toBe('pytorch');
    expect((await upload('torch-pickle', '1.0.0', Buffer.from([0x80, 0x02, 0x7d]), 'pytorch')).view?.framework).toBe('pytorch');
    expect((await upload('bundle', '1.0.0', zip, 'zip')).view?.framework).toBe('zip');
  });

  it('refuses a command without a staged artifact, naming the problem', async () => {
    await expect(t.runtime.bus.request(Commands.uploadModel, { actor: 'a', name: 'x', version: '1.0.0', framework: 'onnx', stagingKey: 'models/x', sha256: 'a', sizeBytes: 1 }, { timeoutMs: 5_000 }))
      .rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('stagingKey') });
  });
});

describe('model registry - queries', () => {
  it('lists models filtered by name and status, with paging', async () => {
    await upload('adder', '1.1.0', makeAddModel({ addend: 2 }));
    const list = (q: object) => t.runtime.bus.request<object, Page<ModelView>>(Queries.listModels, q, { timeoutMs: 5_000 });
    const all = await list({ name: 'adder' });
    expect(all.total).toBe(2);
    expect(all.items.map((m) => m.id).sort()).toEqual(['adder-1.0.0', 'adder-1.1.0']);
    const page = await list({ name: 'adder', limit: 1, offset: 1 });
    expect(page).toMatchObject({ total: 2 });
    expect(page.items).toHaveLength(1);
    expect((await list({ status: 'Validated' })).total).toBe(0);
    await expect(list({ status: 'Exploded' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('answers NOT_FOUND naming an unknown model', async () => {
    await expect(t.runtime.bus.request(Queries.getModel, { id: 'ghost-1.0.0' }, { timeoutMs: 5_000 }))
      .rejects.toMatchObject({ code: 'NOT_FOUND', message: 'model ghost-1.0.0 not found' });
  });
});

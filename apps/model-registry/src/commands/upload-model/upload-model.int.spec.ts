import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import {
  Commands, Queries, Streams, type ModelArtifactView, type ModelView, type UploadModelCommand,
} from '@hotswap/contracts';
import type { RemoteError } from '@hotswap/infrastructure';
import { makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { buildZip } from '../../inspection/fixtures.js';
import { ModelRegistryModule } from '../../model-registry.module.js';

/** The upload command's bad inputs on real NATS, JetStream, PGlite and a local artifact store. */

let t: TestRuntime;
let app: INestApplicationContext;

beforeAll(async () => {
  t = await startTestRuntime();
  app = await NestFactory.createApplicationContext(ModelRegistryModule.register(t.runtime), { logger: false });
  await app.init();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await t?.cleanup();
});

async function upload(name: string, version: string, bytes: Buffer, framework: UploadModelCommand['framework']) {
  const stagingKey = `staging/${name}-${version}-${Math.random().toString(36).slice(2)}`;
  const staged = await t.runtime.artifacts.put(stagingKey, Readable.from([bytes]));
  const command: UploadModelCommand = {
    actor: 'alice', name, version, framework, metadata: {}, stagingKey, sha256: staged.sha256, sizeBytes: staged.sizeBytes,
  };
  try {
    return { view: await t.runtime.bus.request<UploadModelCommand, ModelView>(Commands.uploadModel, command, { timeoutMs: 10_000 }), stagingKey };
  } catch (error) {
    return { error: error as RemoteError, stagingKey };
  }
}

const getModel = (id: string) => t.runtime.bus.request<{ id: string }, ModelView>(Queries.getModel, { id }, { timeoutMs: 5_000 });
const getArtifact = (id: string) => t.runtime.bus.request<{ id: string }, ModelArtifactView>(Queries.getModelArtifact, { id }, { timeoutMs: 5_000 });

/** Every artifact file the store holds under `models/` and `staging/`. */
async function storedArtifacts(): Promise<string[]> {
  const root = (t.runtime.artifacts as unknown as { dataDir: string }).dataDir;
  return (await readdir(root, { recursive: true }).catch(() => [] as string[])).filter((entry) => /\.[a-z]+$/.test(entry) || entry.startsWith('staging/')).sort();
}

describe('UploadModel', () => {
  it('refuses a duplicate id with CONFLICT and leaves the first upload intact: its artifact bytes and its row', async () => {
    const first = makeAddModel({ addend: 1 });
    const { view } = await upload('keeper', '1.0.0', first, 'onnx');
    const before = await getModel('keeper-1.0.0');
    const artifact = await getArtifact('keeper-1.0.0');
    const files = await storedArtifacts();

    for (const second of [makeAddModel({ addend: 7 }), first]) {
      const { error, stagingKey } = await upload('keeper', '1.0.0', second, 'onnx');
      expect(error?.code).toBe('CONFLICT');
      expect(error?.message).toContain('keeper-1.0.0 already exists');
      expect(await t.runtime.artifacts.exists(stagingKey)).toBe(false);
    }

    expect(await getModel('keeper-1.0.0')).toEqual(before);
    expect(before).toEqual(view);
    expect(await getArtifact('keeper-1.0.0')).toEqual(artifact);
    const stored = Buffer.concat(await (await t.runtime.artifacts.get(artifact.artifactKey)).toArray());
    expect(stored.equals(first)).toBe(true);
    expect(await storedArtifacts()).toEqual(files);
    expect(await t.runtime.eventStore.readStream(Streams.model('keeper-1.0.0'))).toHaveLength(1);
  });

  it.each([
    ['a zip bomb', 'zip', buildZip([{ name: 'bomb.bin', data: Buffer.alloc(1000), declaredCompressedBytes: 1000, declaredUncompressedBytes: 4_000_000_000 }]),
      'artifact declared as zip is not a safe ZIP archive: entry "bomb.bin" expands 1000 bytes to 4000000000, a ratio above the limit of 200 (a zip bomb?)'],
    ['path traversal inside a ZIP', 'pytorch', buildZip([{ name: 'archive/data.pkl', data: Buffer.from([0x80, 0x02]) }, { name: '../../etc/cron.d/evil', data: Buffer.from('x') }]),
      'artifact declared as pytorch is not a safe ZIP archive: entry "../../etc/cron.d/evil" has a ".." path segment (path traversal)'],
    ['a framework that does not match', 'pytorch', makeAddModel({ addend: 1 }), 'declared pytorch, but the artifact is an ONNX model'],
    ['a SavedModel without variables/', 'tensorflow', buildZip([{ name: 'saved_model.pb', data: Buffer.from('g') }]),
      'artifact declared as tensorflow is not a TensorFlow SavedModel: the ZIP needs saved_model.pb and a variables/ folder beside it'],
    ['an empty file', 'onnx', Buffer.alloc(0), 'artifact declared as onnx is empty (0 bytes)'],
  ] as const)('refuses %s with BAD_REQUEST, leaving no artifact and no event', async (_label, framework, bytes, message) => {
    const files = await storedArtifacts();
    const { error } = await upload('refused', '1.0.0', bytes, framework);

    expect(error?.code).toBe('BAD_REQUEST');
    expect(error?.message).toBe(message);
    expect(await storedArtifacts()).toEqual(files);
    expect(await t.runtime.eventStore.readStream(Streams.model('refused-1.0.0'))).toEqual([]);
  });

  it('accepts a TensorFlow SavedModel and a TorchScript file', async () => {
    const savedModel = buildZip([{ name: 'm/saved_model.pb', data: Buffer.from('g') }, { name: 'm/variables/variables.index', data: Buffer.from('i') }]);
    expect((await upload('tf', '1.0.0', savedModel, 'tensorflow')).view).toMatchObject({ id: 'tf-1.0.0', framework: 'tensorflow' });
    const torchScript = buildZip([{ name: 'm/code/__torch__.py', data: Buffer.from('x') }, { name: 'm/data.pkl', data: Buffer.from([0x80, 0x02]) }]);
    expect((await upload('ts', '1.0.0', torchScript, 'pytorch')).view).toMatchObject({ id: 'ts-1.0.0', framework: 'pytorch' });
  });
});

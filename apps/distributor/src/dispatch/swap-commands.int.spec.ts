import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import S3rver from 's3rver';
import { Queries, type ModelArtifactView } from '@hotswap/contracts';
import { generateSigningKeyPair, S3ArtifactStore, verifyManifest, type ArtifactStore, type BusSubscription } from '@hotswap/infrastructure';
import { makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { defaultDistributorOptions, type DistributorOptions } from '../distributor.options.js';
import { SwapCommands } from './swap-commands.js';

const bucket = 'hotswap-dist';
const keys = generateSigningKeyPair();
const bytes = makeAddModel({ addend: 1 });
const artifact: ModelArtifactView = {
  modelId: 'adder-1.0.0', name: 'adder', version: '1.0.0', artifactKey: 'models/adder/1.0.0/a.onnx',
  sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length,
};
let t: TestRuntime;
let server: S3rver;
let dir: string;
let s3: S3ArtifactStore;
let registry: BusSubscription;

beforeAll(async () => {
  t = await startTestRuntime();
  dir = await mkdtemp(join(tmpdir(), 'hotswap-dist-s3-'));
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  s3 = new S3ArtifactStore({ bucket, prefix: 'p/', endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  await s3.put(artifact.artifactKey, Readable.from([bytes]));
  await t.runtime.artifacts.put(artifact.artifactKey, Readable.from([bytes]));
  // The model registry's answer, played.
  registry = await t.runtime.bus.handle(Queries.getModelArtifact, { validate: (p: unknown) => ({ ok: true as const, value: p }), handler: () => artifact });
}, 60_000);

afterAll(async () => {
  await registry?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
  await t?.cleanup();
});

const commands = (artifacts: ArtifactStore, options: Partial<DistributorOptions> = {}) => new SwapCommands({ ...t.runtime, artifacts }, {
  ...defaultDistributorOptions, artifactBaseUrl: 'http://gateway.test:8080', urlSigningSecret: 'secret', manifestPrivateKeyPem: keys.privateKeyPem, ...options,
});

describe('SwapCommands - artifact URLs', () => {
  it('hands devices a presigned URL straight to the bucket when the store is S3, which downloads the artifact', async () => {
    const command = await commands(s3).build({ modelId: artifact.modelId, commandId: 'c-1' });
    const url = new URL(command.artifactUrl);
    expect(url.origin).not.toBe('http://gateway.test:8080');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    const res = await fetch(command.artifactUrl);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    expect(verifyManifest(command.release, keys.publicKeyPem, { now: t.clock.now() }).ok).toBe(true);
  });

  it('hands out gateway URLs when presigning is turned off, or the store cannot presign', async () => {
    for (const built of [await commands(s3, { presignArtifactUrls: false }).build({ modelId: artifact.modelId, commandId: 'c-2' }),
      await commands(t.runtime.artifacts).build({ modelId: artifact.modelId, commandId: 'c-3' })]) {
      expect(built.artifactUrl).toMatch(/^http:\/\/gateway\.test:8080\/artifacts\/models\/adder\/1\.0\.0\/a\.onnx\?expires=\d+&sig=/);
    }
  });

  it('keeps a presigned URL within the 7 days S3 allows', async () => {
    const command = await commands(s3, { urlTtlMs: 30 * 24 * 3600_000 }).build({ modelId: artifact.modelId, commandId: 'c-4' });
    expect(new URL(command.artifactUrl).searchParams.get('X-Amz-Expires')).toBe(String(7 * 24 * 3600));
  });
});

describe('SwapCommands - artifact transport', () => {
  it('carries the artifact key for the NATS transport, and the transport only when the distribution forced one', async () => {
    const auto = await commands(t.runtime.artifacts, { presignArtifactUrls: false }).build({ modelId: artifact.modelId, commandId: 'c-t1' });
    expect(auto.artifactKey).toBe(artifact.artifactKey);
    expect(auto).not.toHaveProperty('transport');
    const forced = await commands(t.runtime.artifacts, { presignArtifactUrls: false }).build({ modelId: artifact.modelId, commandId: 'c-t2', transport: 'nats' });
    expect(forced).toMatchObject({ transport: 'nats', artifactKey: artifact.artifactKey });
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { describeArtifactStoreContract, sha256 } from './artifact-store.contract.js';
import { ArtifactStoreError, S3ArtifactStore } from './index.js';

/**
 * The S3 adapter against s3rver, an S3-compatible server the test starts on loopback (port 0,
 * a temp folder), with the same contract suite as the local-file adapter.
 */

const bucket = 'hotswap-test';
let server: S3rver;
let endpoint: string;
let dir: string;
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotswap-s3rver-'));
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function openStore(prefix: string, options: { maxSingleCopyBytes?: number } = {}): S3ArtifactStore {
  // 5 MiB parts: the smallest S3 allows, so the 12 MiB contract artifact is a real multipart upload.
  return new S3ArtifactStore({ bucket, prefix, endpoint, region: 'us-east-1', credentials, partSizeBytes: 5 * 1024 * 1024, ...options });
}

async function objectsUnder(store: S3ArtifactStore, prefix: string): Promise<string[]> {
  const listed = await store.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

describeArtifactStoreContract('S3ArtifactStore', async () => {
  const store = openStore('contract/');
  return { store, leftovers: () => objectsUnder(store, 'contract/') };
});

describe('S3ArtifactStore', () => {
  let store: S3ArtifactStore;
  beforeAll(() => {
    store = openStore('own/');
  });

  it('stores the SHA-256 as object metadata and asks for SSE-S3 encryption', async () => {
    const sent: Record<string, unknown>[] = [];
    store.client.middlewareStack.add((next, context) => async (args) => {
      if (['PutObjectCommand', 'CopyObjectCommand', 'CreateMultipartUploadCommand'].includes(String(context.commandName))) {
        sent.push(args.input as Record<string, unknown>);
      }
      return next(args);
    }, { step: 'initialize', name: 'recordSse' });

    await store.put('sse.bin', Readable.from(['encrypted at rest']));

    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((input) => input['ServerSideEncryption'] === 'AES256')).toBe(true);
    const head = await store.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'own/sse.bin' }));
    expect(head.Metadata).toEqual({ sha256: sha256('encrypted at rest') });
    store.client.middlewareStack.remove('recordSse');
  });

  it('presigns a GET URL that downloads the artifact until it expires', async () => {
    await store.put('signed/model.onnx', Readable.from(['presigned bytes']));
    const url = await store.presignGet('signed/model.onnx', 60);

    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('presigned bytes');

    // s3rver does not verify SigV4 signatures (AWS and MinIO do), so only the signed parameters are checked here.
    const params = new URL(url).searchParams;
    expect(params.get('X-Amz-Expires')).toBe('60');
    expect(params.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);

    // Signed two hours ago for one minute: expired.
    const past = new S3ArtifactStore({
      bucket, prefix: 'own/', endpoint, credentials, clock: () => new Date(Date.now() - 2 * 3600_000),
    });
    const expired = await fetch(await past.presignGet('signed/model.onnx', 60));
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('expired');
  });

  it('copies objects above the single-copy limit in parts, aborting and leaving nothing when that fails', async () => {
    // s3rver does not implement UploadPartCopy, which makes the failure path observable.
    const small = openStore('parts/', { maxSingleCopyBytes: 4 });
    await small.put('kept.bin', Readable.from(['1234']));
    await expect(small.put('kept.bin', Readable.from(['12345678']))).rejects.toThrow('storing artifact "kept.bin" failed');
    expect(await small.stat('kept.bin')).toEqual({ sizeBytes: 4, sha256: sha256('1234') });
    expect(await objectsUnder(small, 'parts/')).toEqual(['parts/kept.bin']);
  });

  it('refuses presigned expiries outside 1 s to 7 days', async () => {
    await expect(store.presignGet('x.bin', 0)).rejects.toThrow('expiresInSeconds must be an integer from 1 to 604800, got 0');
    await expect(store.presignGet('x.bin', 604801)).rejects.toThrow(RangeError);
  });

  it('refuses to stat an object that was not stored through the port', async () => {
    await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'own/foreign.bin', Body: 'x' }));
    await expect(store.stat('foreign.bin')).rejects.toThrow(
      'object "foreign.bin" has no sha256 metadata: it was not stored by HotSwap',
    );
  });

  it('reports an unreachable server as ArtifactStoreError', async () => {
    const down = new S3ArtifactStore({ bucket, endpoint: 'http://127.0.0.1:1', credentials });
    await expect(down.stat('x.bin')).rejects.toThrow(ArtifactStoreError);
    await expect(down.put('x.bin', Readable.from(['x']))).rejects.toThrow('storing artifact "x.bin" failed');
  });

  it('reports a missing bucket as ArtifactStoreError when reading', async () => {
    const nowhere = new S3ArtifactStore({ bucket: 'no-such-bucket', endpoint, credentials });
    await expect(nowhere.get('x.bin')).rejects.toThrow();
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describeArtifactStoreContract, sha256 } from './artifact-store.contract.js';
import { ArtifactStoreError, LocalFileArtifactStore } from './index.js';

/** All files under `dir`, relative, so tests can assert that nothing was left behind. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-artifacts-'));
  roots.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(roots.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeArtifactStoreContract('LocalFileArtifactStore', async () => {
  const rootDir = await tempRoot();
  return { store: new LocalFileArtifactStore({ rootDir }), leftovers: () => filesUnder(rootDir) };
});

describeArtifactStoreContract('LocalFileArtifactStore, encrypted', async () => {
  const rootDir = await tempRoot();
  return { store: new LocalFileArtifactStore({ rootDir, encryptionKey: randomBytes(32) }), leftovers: () => filesUnder(rootDir) };
});

describe('LocalFileArtifactStore', () => {
  let rootDir: string;
  let store: LocalFileArtifactStore;

  beforeAll(async () => {
    rootDir = await tempRoot();
    store = new LocalFileArtifactStore({ rootDir });
  });

  it('streams a 50 MB artifact without holding it in memory', async () => {
    const chunkBytes = 64 * 1024;
    const chunks = 800; // 50 MiB
    const expectedHash = createHash('sha256');
    // Collect garbage as we go: otherwise V8 lets tens of MB of dead chunks pile up before a GC,
    // and the measurement would show GC laziness instead of what the store retains.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const rssBefore = process.memoryUsage.rss();
    let peakRss = rssBefore;
    async function* generate() {
      for (let i = 0; i < chunks; i++) {
        // A fresh chunk each time, as a network upload would produce.
        const chunk = Buffer.alloc(chunkBytes, i % 251);
        chunk.writeUInt32BE(i, 0);
        expectedHash.update(chunk);
        if (i % 50 === 0) gc();
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
        yield chunk;
      }
    }

    const stored = await store.put('big/model.onnx', Readable.from(generate()));

    expect(stored.sizeBytes).toBe(chunkBytes * chunks);
    expect(stored.sha256).toBe(expectedHash.digest('hex'));
    expect(peakRss - rssBefore).toBeLessThan(16 * 1024 * 1024);
  }, 60_000);

  it('does not let a key collide with the metadata of another key', async () => {
    await store.put('a', Readable.from(['data of a']));
    await store.put('a.json', Readable.from(['data of a.json']));
    expect(await text(await store.get('a'))).toBe('data of a');
    expect(await store.stat('a')).toEqual({ sizeBytes: 9, sha256: sha256('data of a') });
  });

});

describe('LocalFileArtifactStore, encrypted at rest (AES-256-GCM)', () => {
  const key = randomBytes(32);
  let rootDir: string;
  let store: LocalFileArtifactStore;
  // Three and a half 64 KiB frames of recognisable plaintext.
  const plaintext = Buffer.from('model weights 0123456789 '.repeat(9200)).subarray(0, 3.5 * 65536);

  beforeAll(async () => {
    rootDir = await tempRoot();
    store = new LocalFileArtifactStore({ rootDir, encryptionKey: key });
    await store.put('secret/model.onnx', Readable.from([plaintext]));
  });

  it('writes no plaintext to disk, and records the SHA-256 of the plaintext', async () => {
    const onDisk = await readFile(join(rootDir, 'data', 'secret', 'model.onnx'));
    expect(onDisk.length).toBe(plaintext.length + 4 * 16);
    expect(onDisk.includes(Buffer.from('model weights'))).toBe(false);
    expect(await store.stat('secret/model.onnx')).toEqual({ sizeBytes: plaintext.length, sha256: sha256(plaintext) });
    expect(Buffer.concat(await (await store.get('secret/model.onnx')).toArray()).equals(plaintext)).toBe(true);
  });

  it.each([
    [0, 0], [65535, 65536], [65530, 3 * 65536 + 10], [3 * 65536, 3.5 * 65536 - 1], [100, 200], [0, 3.5 * 65536 - 1],
  ])('decrypts only what the range %d-%d needs', async (start, end) => {
    const read = Buffer.concat(await (await store.get('secret/model.onnx', { start, end })).toArray());
    expect(read.equals(plaintext.subarray(start, end + 1))).toBe(true);
  });

  it('refuses to read a file altered on disk, naming the frame', async () => {
    await store.put('tampered.bin', Readable.from([plaintext]));
    const path = join(rootDir, 'data', 'tampered.bin');
    const bytes = await readFile(path);
    bytes[2 * (65536 + 16) + 5] ^= 0x01;
    await writeFile(path, bytes);

    await expect(text(await store.get('tampered.bin'))).rejects.toThrow(
      'artifact "tampered.bin" is corrupt or was tampered with: frame 2 failed authentication',
    );
    await expect(text(await store.get('tampered.bin', { start: 2 * 65536, end: 2 * 65536 }))).rejects.toThrow(ArtifactStoreError);
    // Frames before the altered one still read.
    expect((await text(await store.get('tampered.bin', { start: 0, end: 12 })))).toBe('model weights');
  });

  it('refuses to read a truncated file', async () => {
    await store.put('truncated.bin', Readable.from([plaintext]));
    await truncate(join(rootDir, 'data', 'truncated.bin'), 3 * (65536 + 16) + 100);
    await expect(text(await store.get('truncated.bin'))).rejects.toThrow(
      'artifact "truncated.bin" is corrupt or was tampered with: frame 3 is 100 bytes on disk, expected 32784 (truncated?)',
    );
  });

  it('refuses to read with another key, and without one', async () => {
    const other = new LocalFileArtifactStore({ rootDir, encryptionKey: randomBytes(32) });
    await expect(text(await other.get('secret/model.onnx'))).rejects.toThrow('frame 0 failed authentication');
    const none = new LocalFileArtifactStore({ rootDir });
    await expect(none.get('secret/model.onnx')).rejects.toThrow(
      'artifact "secret/model.onnx" is encrypted and this store has no encryption key',
    );
  });

  it('still reads artifacts stored before encryption was configured', async () => {
    await new LocalFileArtifactStore({ rootDir }).put('legacy.bin', Readable.from(['plain old bytes']));
    expect(await text(await store.get('legacy.bin', { start: 6 }))).toBe('old bytes');
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new LocalFileArtifactStore({ rootDir, encryptionKey: randomBytes(16) })).toThrow(
      'the artifact encryption key must be 32 bytes, got 16',
    );
  });
});

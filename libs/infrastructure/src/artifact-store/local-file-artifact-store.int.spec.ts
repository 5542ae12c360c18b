import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import {
  ArtifactNotFoundError,
  ArtifactStoreError,
  ArtifactTooLargeError,
  ChecksumMismatchError,
  InvalidArtifactKeyError,
  InvalidByteRangeError,
  LocalFileArtifactStore,
} from './index.js';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** All files under `dir`, relative, so tests can assert that nothing was left behind. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describe('LocalFileArtifactStore', () => {
  let rootDir: string;
  let store: LocalFileArtifactStore;

  beforeAll(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'hotswap-artifacts-'));
    store = new LocalFileArtifactStore({ rootDir });
  });

  afterAll(async () => {
    await rm(rootDir, { recursive: true, force: true });
  });

  it('stores an artifact and reads it back with the SHA-256 node:crypto computes', async () => {
    const content = 'onnx model bytes '.repeat(1000);
    const stored = await store.put('models/resnet/1.2.0/model.onnx', Readable.from([content]));

    expect(stored).toEqual({ key: 'models/resnet/1.2.0/model.onnx', sizeBytes: content.length, sha256: sha256(content) });
    expect(await store.stat('models/resnet/1.2.0/model.onnx')).toEqual({ sizeBytes: content.length, sha256: sha256(content) });
    expect(await store.exists('models/resnet/1.2.0/model.onnx')).toBe(true);
    expect(await text(await store.get('models/resnet/1.2.0/model.onnx'))).toBe(content);
  });

  it('accepts a matching expected checksum in either case', async () => {
    const stored = await store.put('checked.bin', Readable.from(['abc']), { expectedSha256: sha256('abc').toUpperCase() });
    expect(stored.sha256).toBe(sha256('abc'));
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

  it('refuses an artifact over maxSizeBytes and leaves nothing behind', async () => {
    const before = await filesUnder(rootDir);
    const put = store.put('too-large.bin', Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxSizeBytes: 1000 });

    await expect(put).rejects.toThrow(ArtifactTooLargeError);
    await expect(put).rejects.toThrow('artifact "too-large.bin" exceeds the limit of 1000 bytes');
    expect(await store.exists('too-large.bin')).toBe(false);
    expect(await filesUnder(rootDir)).toEqual(before);
  });

  it('accepts an artifact of exactly maxSizeBytes', async () => {
    const stored = await store.put('exact.bin', Readable.from([Buffer.alloc(1000)]), { maxSizeBytes: 1000 });
    expect(stored.sizeBytes).toBe(1000);
  });

  it('refuses a checksum mismatch, naming both hashes, and leaves nothing behind', async () => {
    const before = await filesUnder(rootDir);
    const wrong = sha256('something else');
    const error = await store.put('mismatch.bin', Readable.from(['payload']), { expectedSha256: wrong }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect(error).toMatchObject({ expectedSha256: wrong, actualSha256: sha256('payload') });
    expect((error as Error).message).toContain(wrong);
    expect((error as Error).message).toContain(sha256('payload'));
    expect(await store.exists('mismatch.bin')).toBe(false);
    expect(await filesUnder(rootDir)).toEqual(before);
  });

  it('keeps the previous artifact when replacing it fails', async () => {
    await store.put('replace.bin', Readable.from(['version one']));
    await expect(
      store.put('replace.bin', Readable.from(['version two']), { expectedSha256: sha256('nope') }),
    ).rejects.toThrow(ChecksumMismatchError);
    expect(await text(await store.get('replace.bin'))).toBe('version one');
  });

  it('replaces an artifact when put again under the same key', async () => {
    await store.put('overwrite.bin', Readable.from(['old']));
    await store.put('overwrite.bin', Readable.from(['brand new']));
    expect(await store.stat('overwrite.bin')).toEqual({ sizeBytes: 9, sha256: sha256('brand new') });
    expect(await text(await store.get('overwrite.bin'))).toBe('brand new');
  });

  it('wraps a failing source stream in ArtifactStoreError with the cause and leaves nothing behind', async () => {
    const before = await filesUnder(rootDir);
    const cause = new Error('client disconnected');
    const source = new Readable({
      read() {
        this.push(Buffer.alloc(10));
        this.destroy(cause);
      },
    });
    const error = await store.put('aborted.bin', source).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ArtifactStoreError);
    expect((error as Error).message).toBe('storing artifact "aborted.bin" failed: client disconnected');
    expect((error as Error).cause).toBe(cause);
    expect(await filesUnder(rootDir)).toEqual(before);
  });

  it('rejects invalid options before reading the source', async () => {
    await expect(store.put('x.bin', Readable.from(['x']), { maxSizeBytes: -1 })).rejects.toThrow(
      'maxSizeBytes must be a non-negative integer, got -1',
    );
    await expect(store.put('x.bin', Readable.from(['x']), { expectedSha256: 'abc' })).rejects.toThrow(
      'expectedSha256 must be 64 hex digits, got "abc"',
    );
  });

  describe('byte ranges', () => {
    const content = '0123456789';

    beforeAll(async () => {
      await store.put('range.bin', Readable.from([content]));
    });

    it.each([
      [{ start: 0, end: 3 }, '0123'],
      [{ start: 4 }, '456789'],
      [{ end: 2 }, '012'],
      [{ start: 9, end: 9 }, '9'],
      [{ start: 7, end: 100 }, '789'],
    ])('reads the inclusive range %j', async (range, expected) => {
      expect(await text(await store.get('range.bin', range))).toBe(expected);
    });

    it.each([[{ start: 10 }], [{ start: 5, end: 4 }], [{ start: -1 }], [{ start: 1.5 }], [{ start: 0, end: -2 }]])(
      'refuses the unsatisfiable range %j',
      async (range) => {
        await expect(store.get('range.bin', range)).rejects.toThrow(InvalidByteRangeError);
      },
    );

    it('names the range and the size when refusing', async () => {
      await expect(store.get('range.bin', { start: 12, end: 20 })).rejects.toThrow(
        'byte range 12-20 is not satisfiable for artifact "range.bin" of 10 bytes',
      );
    });

    it('reads an empty artifact whole but refuses any range of it', async () => {
      await store.put('empty.bin', Readable.from([]));
      expect(await store.stat('empty.bin')).toEqual({ sizeBytes: 0, sha256: sha256('') });
      expect(await text(await store.get('empty.bin'))).toBe('');
      await expect(store.get('empty.bin', { start: 0 })).rejects.toThrow(InvalidByteRangeError);
    });
  });

  it('reports a missing artifact', async () => {
    expect(await store.stat('missing.bin')).toBeUndefined();
    expect(await store.exists('missing.bin')).toBe(false);
    await expect(store.get('missing.bin')).rejects.toThrow(new ArtifactNotFoundError('missing.bin'));
    // A key below a file is missing too, not a filesystem error.
    expect(await store.exists('range.bin/inside')).toBe(false);
  });

  it('deletes an artifact, and deleting a missing one is not an error', async () => {
    await store.put('delete-me.bin', Readable.from(['bye']));
    await store.delete('delete-me.bin');
    expect(await store.exists('delete-me.bin')).toBe(false);
    expect(await filesUnder(rootDir)).not.toContain(join('data', 'delete-me.bin'));
    await expect(store.delete('delete-me.bin')).resolves.toBeUndefined();
  });

  it('does not let a key collide with the metadata of another key', async () => {
    await store.put('a', Readable.from(['data of a']));
    await store.put('a.json', Readable.from(['data of a.json']));
    expect(await text(await store.get('a'))).toBe('data of a');
    expect(await store.stat('a')).toEqual({ sizeBytes: 9, sha256: sha256('data of a') });
  });

  it.each(['../escape.bin', 'a/../../b', '/etc/passwd', 'a//b', './a', 'a/', 'white space', 'semi;colon', 'ü.bin', ''])(
    'refuses the key %j in every operation',
    async (key) => {
      await expect(store.put(key, Readable.from(['x']))).rejects.toThrow(InvalidArtifactKeyError);
      await expect(store.get(key)).rejects.toThrow(InvalidArtifactKeyError);
      await expect(store.stat(key)).rejects.toThrow(InvalidArtifactKeyError);
      await expect(store.exists(key)).rejects.toThrow(InvalidArtifactKeyError);
      await expect(store.delete(key)).rejects.toThrow(InvalidArtifactKeyError);
    },
  );
});

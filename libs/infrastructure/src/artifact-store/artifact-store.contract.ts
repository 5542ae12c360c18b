/**
 * The one contract every ArtifactStore adapter passes. An adapter's `*.int.spec.ts` calls
 * `describeArtifactStoreContract(name, open)` with a function that opens a store on a real
 * backend (a temp folder, an S3-compatible server on loopback) and lists what it holds.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { ArtifactStore } from './artifact-store.port.js';
import {
  ArtifactNotFoundError, ArtifactStoreError, ArtifactTooLargeError, ChecksumMismatchError, InvalidArtifactKeyError,
  InvalidByteRangeError,
} from './errors.js';

export interface ArtifactStoreUnderTest {
  readonly store: ArtifactStore;
  /** Everything the backend holds (files, objects, temp files), to assert nothing is left behind. */
  leftovers(): Promise<string[]>;
}

export const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

export function describeArtifactStoreContract(name: string, open: () => Promise<ArtifactStoreUnderTest>): void {
  describe(`${name} (ArtifactStore contract)`, () => {
    let store: ArtifactStore;
    let leftovers: () => Promise<string[]>;

    beforeAll(async () => {
      ({ store, leftovers } = await open());
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

    it('streams a multi-part artifact and reads any range of it back', async () => {
      const block = Buffer.alloc(1024 * 1024);
      const blocks = 12;
      const expected = createHash('sha256');
      async function* generate() {
        for (let i = 0; i < blocks; i++) {
          const chunk = Buffer.from(block.fill(i + 1));
          expected.update(chunk);
          yield chunk;
        }
      }
      const stored = await store.put('big/model.bin', Readable.from(generate()));
      expect(stored).toEqual({ key: 'big/model.bin', sizeBytes: blocks * block.length, sha256: expected.digest('hex') });
      const middle = Buffer.concat(await (await store.get('big/model.bin', { start: 3 * block.length - 2, end: 3 * block.length + 1 })).toArray());
      expect([...middle]).toEqual([3, 3, 4, 4]);
    });

    it('refuses an artifact over maxSizeBytes and leaves nothing behind', async () => {
      const before = await leftovers();
      const put = store.put('too-large.bin', Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxSizeBytes: 1000 });

      await expect(put).rejects.toThrow(ArtifactTooLargeError);
      await expect(put).rejects.toThrow('artifact "too-large.bin" exceeds the limit of 1000 bytes');
      expect(await store.exists('too-large.bin')).toBe(false);
      expect(await leftovers()).toEqual(before);
    });

    it('accepts an artifact of exactly maxSizeBytes', async () => {
      const stored = await store.put('exact.bin', Readable.from([Buffer.alloc(1000)]), { maxSizeBytes: 1000 });
      expect(stored.sizeBytes).toBe(1000);
    });

    it('refuses a checksum mismatch, naming both hashes, and leaves nothing behind', async () => {
      const before = await leftovers();
      const wrong = sha256('something else');
      const error = await store.put('mismatch.bin', Readable.from(['payload']), { expectedSha256: wrong }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ChecksumMismatchError);
      expect(error).toMatchObject({ expectedSha256: wrong, actualSha256: sha256('payload') });
      expect((error as Error).message).toBe(`artifact "mismatch.bin" has SHA-256 ${sha256('payload')}, expected ${wrong}`);
      expect(await store.exists('mismatch.bin')).toBe(false);
      expect(await leftovers()).toEqual(before);
    });

    it('keeps the previous artifact when replacing it fails', async () => {
      await store.put('replace.bin', Readable.from(['version one']));
      await expect(
        store.put('replace.bin', Readable.from(['version two']), { expectedSha256: sha256('nope') }),
      ).rejects.toThrow(ChecksumMismatchError);
      await expect(store.put('replace.bin', Readable.from(['version two, too long']), { maxSizeBytes: 5 })).rejects.toThrow(ArtifactTooLargeError);
      expect(await text(await store.get('replace.bin'))).toBe('version one');
      expect(await store.stat('replace.bin')).toEqual({ sizeBytes: 11, sha256: sha256('version one') });
    });

    it('replaces an artifact when put again under the same key', async () => {
      await store.put('overwrite.bin', Readable.from(['old']));
      await store.put('overwrite.bin', Readable.from(['brand new']));
      expect(await store.stat('overwrite.bin')).toEqual({ sizeBytes: 9, sha256: sha256('brand new') });
      expect(await text(await store.get('overwrite.bin'))).toBe('brand new');
    });

    it('wraps a failing source stream in ArtifactStoreError with the cause and leaves nothing behind', async () => {
      const before = await leftovers();
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
      expect(await store.exists('aborted.bin')).toBe(false);
      expect(await leftovers()).toEqual(before);
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
      // A key below another artifact is missing too, not a backend error.
      expect(await store.exists('range.bin/inside')).toBe(false);
    });

    it('moves an artifact to another key, replacing what was there', async () => {
      await store.put('staging/upload-1', Readable.from(['staged bytes']));
      await store.put('models/m/1.0.0/final.bin', Readable.from(['older']));
      expect(await store.move('staging/upload-1', 'models/m/1.0.0/final.bin')).toEqual({
        key: 'models/m/1.0.0/final.bin', sizeBytes: 12, sha256: sha256('staged bytes'),
      });
      expect(await store.exists('staging/upload-1')).toBe(false);
      expect(await text(await store.get('models/m/1.0.0/final.bin', { start: 7 }))).toBe('bytes');
      expect((await leftovers()).filter((entry) => entry.includes('upload-1'))).toEqual([]);
      expect(await store.move('models/m/1.0.0/final.bin', 'models/m/1.0.0/final.bin')).toMatchObject({ sizeBytes: 12 });
      await expect(store.move('staging/none', 'x.bin')).rejects.toThrow(new ArtifactNotFoundError('staging/none'));
      await expect(store.move('x.bin', '../y')).rejects.toThrow(InvalidArtifactKeyError);
    });

    it('deletes an artifact, and deleting a missing one is not an error', async () => {
      await store.put('delete-me.bin', Readable.from(['bye']));
      await store.delete('delete-me.bin');
      expect(await store.exists('delete-me.bin')).toBe(false);
      expect((await leftovers()).filter((entry) => entry.includes('delete-me'))).toEqual([]);
      await expect(store.delete('delete-me.bin')).resolves.toBeUndefined();
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
}

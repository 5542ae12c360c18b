import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertValidArtifactKey } from './artifact-key.js';
import type {
  ArtifactStat,
  ArtifactStore,
  ByteRange,
  PutArtifactOptions,
  StoredArtifact,
} from './artifact-store.port.js';
import {
  ArtifactNotFoundError,
  ArtifactStoreError,
  ArtifactTooLargeError,
  ChecksumMismatchError,
  InvalidByteRangeError,
} from './errors.js';

export interface LocalFileArtifactStoreOptions {
  /** Directory holding `data/`, `meta/` and `tmp/`; created on first write. */
  readonly rootDir: string;
}

interface Metadata extends ArtifactStat {
  readonly version: 1;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Artifacts as files under `rootDir/data/<key>`, with `{ sizeBytes, sha256 }` in a sidecar
 * `rootDir/meta/<key>.json`. The sidecar is the commit marker: it is written (atomically, after
 * the data file) last and removed first, so an artifact without one does not exist. Data and
 * sidecars live in separate trees so that no key can collide with another key's sidecar, and
 * temp files live in `tmp/` on the same filesystem so that `rename` is atomic.
 */
export class LocalFileArtifactStore implements ArtifactStore {
  private readonly dataDir: string;
  private readonly metaDir: string;
  private readonly tmpDir: string;

  constructor(options: LocalFileArtifactStoreOptions) {
    this.dataDir = join(options.rootDir, 'data');
    this.metaDir = join(options.rootDir, 'meta');
    this.tmpDir = join(options.rootDir, 'tmp');
  }

  async put(key: string, source: Readable, options: PutArtifactOptions = {}): Promise<StoredArtifact> {
    assertValidArtifactKey(key);
    const { maxSizeBytes } = options;
    if (maxSizeBytes !== undefined && !(Number.isSafeInteger(maxSizeBytes) && maxSizeBytes >= 0)) {
      throw new RangeError(`maxSizeBytes must be a non-negative integer, got ${maxSizeBytes}`);
    }
    const expected = options.expectedSha256?.toLowerCase();
    if (expected !== undefined && !SHA256_HEX.test(expected)) {
      throw new TypeError(`expectedSha256 must be 64 hex digits, got ${JSON.stringify(options.expectedSha256)}`);
    }

    await mkdir(this.tmpDir, { recursive: true });
    const tmpData = join(this.tmpDir, `${randomUUID()}.data`);
    const hash = createHash('sha256');
    let sizeBytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
        sizeBytes += chunk.length;
        if (maxSizeBytes !== undefined && sizeBytes > maxSizeBytes) {
          callback(new ArtifactTooLargeError(key, maxSizeBytes));
          return;
        }
        hash.update(chunk);
        callback(null, chunk);
      },
    });

    // `flush` fsyncs before close, so a rename never publishes a file whose bytes are not on disk.
    const sink = createWriteStream(tmpData, { flags: 'wx', flush: true });
    try {
      await pipeline(source, meter, sink);
      const sha256 = hash.digest('hex');
      if (expected !== undefined && expected !== sha256) {
        throw new ChecksumMismatchError(key, expected, sha256);
      }
      const dataPath = this.dataPath(key);
      await mkdir(dirname(dataPath), { recursive: true });
      await rename(tmpData, dataPath);
      try {
        await this.writeMetadata(key, { version: 1, sizeBytes, sha256 });
      } catch (error) {
        await rm(dataPath, { force: true });
        throw error;
      }
      return { key, sizeBytes, sha256 };
    } catch (error) {
      // A source that fails at once can fail the pipeline before the file is even opened: wait
      // for the sink to close, or the file would appear after it was removed.
      if (!sink.closed) await new Promise<void>((resolve) => sink.once('close', () => resolve()));
      await rm(tmpData, { force: true });
      if (error instanceof ArtifactStoreError) throw error;
      throw new ArtifactStoreError(`storing artifact ${JSON.stringify(key)} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async get(key: string, range: ByteRange = {}): Promise<Readable> {
    const stat = await this.stat(key);
    if (stat === undefined) throw new ArtifactNotFoundError(key);
    const path = this.dataPath(key);
    if (range.start === undefined && range.end === undefined) return createReadStream(path);
    const lastByte = stat.sizeBytes - 1;
    const start = range.start ?? 0;
    const end = Math.min(range.end ?? lastByte, lastByte);
    const isIndex = (n: number | undefined) => n === undefined || (Number.isSafeInteger(n) && n >= 0);
    if (!isIndex(range.start) || !isIndex(range.end) || start > end) {
      throw new InvalidByteRangeError(key, range, stat.sizeBytes);
    }
    return createReadStream(path, { start, end });
  }

  async stat(key: string): Promise<ArtifactStat | undefined> {
    assertValidArtifactKey(key);
    let text: string;
    try {
      text = await readFile(this.metaPath(key), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    const meta = JSON.parse(text) as Metadata;
    return { sizeBytes: meta.sizeBytes, sha256: meta.sha256 };
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async delete(key: string): Promise<void> {
    assertValidArtifactKey(key);
    // Sidecar first: from that moment the artifact no longer exists, even if removing data fails.
    await rm(this.metaPath(key), { force: true });
    await rm(this.dataPath(key), { force: true });
  }

  private async writeMetadata(key: string, meta: Metadata): Promise<void> {
    const metaPath = this.metaPath(key);
    const tmpMeta = join(this.tmpDir, `${randomUUID()}.json`);
    try {
      await writeFile(tmpMeta, JSON.stringify(meta), { flag: 'wx', flush: true });
      await mkdir(dirname(metaPath), { recursive: true });
      await rename(tmpMeta, metaPath);
    } catch (error) {
      await rm(tmpMeta, { force: true });
      throw error;
    }
  }

  private dataPath(key: string): string {
    return join(this.dataDir, key);
  }

  private metaPath(key: string): string {
    return join(this.metaDir, `${key}.json`);
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

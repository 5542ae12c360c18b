import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, fdatasync, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline as pipelineWithCallback, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { putMeter } from './put-meter.js';
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
  InvalidByteRangeError,
} from './errors.js';
import {
  assertEncryptionKey, decryptFrames, encryptedSize, encryptFrames, newEncryptionParams,
  TAG_BYTES, type EncryptionParams,
} from './encrypted-frames.js';

export interface LocalFileArtifactStoreOptions {
  /** Directory holding `data/`, `meta/` and `tmp/`; created on first write. */
  readonly rootDir: string;
  /**
   * 32-byte master key: when set, artifacts are encrypted at rest with AES-256-GCM in 64 KiB
   * frames (see `encrypted-frames.ts`); artifacts stored without a key stay readable.
   */
  readonly encryptionKey?: Buffer;
}

interface Metadata extends ArtifactStat {
  readonly version: 1;
  /** Present when the data file is encrypted. */
  readonly encryption?: EncryptionParams;
}

/** Read buffer size; large reads keep streaming a multi-GB artifact cheap. */
const READ_HIGH_WATER_MARK = 1024 * 1024;
/**
 * While a large artifact streams in, its written bytes are synced to disk every this many bytes,
 * in the background, so the fsync that ends `put` has little left to do instead of the whole file.
 */
const BACKGROUND_SYNC_BYTES = 64 * 1024 * 1024;


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
  private readonly encryptionKey: Buffer | undefined;

  constructor(options: LocalFileArtifactStoreOptions) {
    if (options.encryptionKey !== undefined) assertEncryptionKey(options.encryptionKey);
    this.encryptionKey = options.encryptionKey;
    this.dataDir = join(options.rootDir, 'data');
    this.metaDir = join(options.rootDir, 'meta');
    this.tmpDir = join(options.rootDir, 'tmp');
  }

  async put(key: string, source: Readable, options: PutArtifactOptions = {}): Promise<StoredArtifact> {
    assertValidArtifactKey(key);
    const meter = putMeter(key, options);

    await mkdir(this.tmpDir, { recursive: true });
    const tmpData = join(this.tmpDir, `${randomUUID()}.data`);

    // `flush` fsyncs before close, so a rename never publishes a file whose bytes are not on disk.
    const sink = createWriteStream(tmpData, { flags: 'wx', flush: true, highWaterMark: READ_HIGH_WATER_MARK });
    const encryption = this.encryptionKey === undefined ? undefined : newEncryptionParams();
    const syncing = backgroundSync(sink);
    try {
      try {
        if (encryption === undefined) await pipeline(source, meter.stream, sink);
        else await pipeline(source, meter.stream, encryptFrames(this.encryptionKey as Buffer, encryption), sink);
      } finally {
        await syncing.stop();
      }
      const sha256 = meter.verifiedSha256();
      const sizeBytes = meter.sizeBytes();
      const dataPath = this.dataPath(key);
      await mkdir(dirname(dataPath), { recursive: true });
      await rename(tmpData, dataPath);
      try {
        await this.writeMetadata(key, { version: 1, sizeBytes, sha256, ...(encryption ? { encryption } : {}) });
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
    const meta = await this.readMetadata(key);
    if (meta === undefined) throw new ArtifactNotFoundError(key);
    const path = this.dataPath(key);
    const whole = range.start === undefined && range.end === undefined;
    const lastByte = meta.sizeBytes - 1;
    const start = range.start ?? 0;
    const end = Math.min(range.end ?? lastByte, lastByte);
    const isIndex = (n: number | undefined) => n === undefined || (Number.isSafeInteger(n) && n >= 0);
    if (!whole && (!isIndex(range.start) || !isIndex(range.end) || start > end)) {
      throw new InvalidByteRangeError(key, range, meta.sizeBytes);
    }
    if (meta.encryption === undefined) {
      return whole ? createReadStream(path, { highWaterMark: READ_HIGH_WATER_MARK }) : createReadStream(path, { start, end, highWaterMark: READ_HIGH_WATER_MARK });
    }
    if (meta.sizeBytes === 0) return Readable.from([]);
    return this.decrypt(key, path, meta.encryption, meta.sizeBytes, start, end);
  }

  /** Decrypts only the frames holding plaintext bytes `[start, end]`. */
  private decrypt(key: string, path: string, encryption: EncryptionParams, sizeBytes: number, start: number, end: number): Readable {
    if (this.encryptionKey === undefined) {
      throw new ArtifactStoreError(`artifact ${JSON.stringify(key)} is encrypted and this store has no encryption key`);
    }
    const { frameBytes } = encryption;
    const firstFrame = Math.floor(start / frameBytes);
    const lastFrame = Math.floor(end / frameBytes);
    const fileStart = firstFrame * (frameBytes + TAG_BYTES);
    const fileEnd = Math.min((lastFrame + 1) * (frameBytes + TAG_BYTES), encryptedSize(sizeBytes, frameBytes)) - 1;
    const decrypt = decryptFrames(this.encryptionKey, encryption, {
      key, firstFrame, skipBytes: start - firstFrame * frameBytes, takeBytes: end - start + 1, plainSize: sizeBytes,
    });
    // Errors reach the reader through `decrypt`; destroying it closes the file.
    pipelineWithCallback(createReadStream(path, { start: fileStart, end: fileEnd, highWaterMark: READ_HIGH_WATER_MARK }), decrypt, () => undefined);
    return decrypt;
  }

  async stat(key: string): Promise<ArtifactStat | undefined> {
    const meta = await this.readMetadata(key);
    return meta === undefined ? undefined : { sizeBytes: meta.sizeBytes, sha256: meta.sha256 };
  }

  private async readMetadata(key: string): Promise<Metadata | undefined> {
    assertValidArtifactKey(key);
    let text: string;
    try {
      text = await readFile(this.metaPath(key), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    return JSON.parse(text) as Metadata;
  }

  async move(fromKey: string, toKey: string): Promise<StoredArtifact> {
    assertValidArtifactKey(toKey);
    const meta = await this.readMetadata(fromKey);
    if (meta === undefined) throw new ArtifactNotFoundError(fromKey);
    if (fromKey === toKey) return { key: toKey, sizeBytes: meta.sizeBytes, sha256: meta.sha256 };
    const dataPath = this.dataPath(toKey);
    await mkdir(dirname(dataPath), { recursive: true });
    // Same order as put: data into place, then the sidecar that publishes it, then the source goes.
    await rename(this.dataPath(fromKey), dataPath);
    await this.writeMetadata(toKey, meta);
    await rm(this.metaPath(fromKey), { force: true });
    return { key: toKey, sizeBytes: meta.sizeBytes, sha256: meta.sha256 };
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

/** Starts syncing `sink`'s file to disk every `BACKGROUND_SYNC_BYTES` as it is written. */
function backgroundSync(sink: WriteStream): { stop(): Promise<void> } {
  // `fd` is set once the file is open (and null after close); @types/node leaves it out.
  const fd = () => (sink as WriteStream & { fd?: number | null }).fd;
  let syncedUpTo = 0;
  let inFlight: Promise<void> | undefined;
  const kick = () => {
    if (inFlight !== undefined || typeof fd() !== 'number' || sink.bytesWritten - syncedUpTo < BACKGROUND_SYNC_BYTES) return;
    const target = sink.bytesWritten;
    inFlight = new Promise<void>((resolve) => {
      // Errors here are not the write's: the final fsync (flush) reports any that matter.
      fdatasync(fd() as number, () => {
        syncedUpTo = target;
        inFlight = undefined;
        resolve();
      });
    });
  };
  const timer = setInterval(kick, 50);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

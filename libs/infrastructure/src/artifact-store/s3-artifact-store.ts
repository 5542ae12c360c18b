import { randomUUID } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadObjectCommand, AbortMultipartUploadCommand, S3Client, UploadPartCopyCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { putMeter } from './put-meter.js';
import { assertValidArtifactKey } from './artifact-key.js';
import type {
  ArtifactStat, ArtifactStore, ByteRange, PutArtifactOptions, StoredArtifact,
} from './artifact-store.port.js';
import {
  ArtifactNotFoundError, ArtifactStoreError, InvalidByteRangeError,
} from './errors.js';

export interface S3ArtifactStoreOptions {
  readonly bucket: string;
  /** Prepended to every key, e.g. `hotswap/`, to share a bucket; none by default. */
  readonly prefix?: string;
  /** AWS region; `us-east-1` when unset (MinIO ignores it). */
  readonly region?: string;
  /** Endpoint of an S3-compatible server such as MinIO (`http://minio:9000`); AWS when unset. */
  readonly endpoint?: string;
  /** Path-style addressing (`endpoint/bucket/key`); on by default, as MinIO and s3rver need it. */
  readonly forcePathStyle?: boolean;
  /** Static credentials; the AWS default chain (environment, profile, instance role) when unset. */
  readonly credentials?: S3ClientConfig['credentials'];
  /** Multipart part size in bytes (min 5 MiB); memory held is about `partSizeBytes · queueSize`. */
  readonly partSizeBytes?: number;
  /** Parts uploaded in parallel. */
  readonly queueSize?: number;
  /** Largest object copied with one CopyObject (S3's limit: 5 GiB); larger ones are copied in parts. */
  readonly maxSingleCopyBytes?: number;
  /** The time presigned URLs are signed at (their expiry counts from it); the system clock by default. */
  readonly clock?: () => Date;
  /** A ready client (tests, custom middleware); the connection options above are then ignored. */
  readonly client?: S3Client;
}

/** Object metadata key holding the lowercase hex SHA-256 of the content. */
const SHA256_METADATA = 'sha256';
const TMP_PREFIX = '.hotswap-tmp/';
const DEFAULT_PART_BYTES = 16 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 4;
const FIVE_GIB = 5 * 1024 ** 3;
const COPY_PART_BYTES = 512 * 1024 * 1024;
/** S3's bounds for presigned URLs: at most seven days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/**
 * Artifacts as S3 objects (AWS S3, MinIO, any S3-compatible server), encrypted at rest with
 * SSE-S3. `put` streams the source through a multipart upload to a temporary key while computing
 * size and SHA-256, then copies it to its key with the checksum as object metadata and deletes
 * the temporary object, so a failed or refused upload never replaces what is under the key; a
 * failed multipart upload is aborted.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSizeBytes: number;
  private readonly queueSize: number;
  private readonly maxSingleCopyBytes: number;
  private readonly clock: () => Date;

  constructor(options: S3ArtifactStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.partSizeBytes = options.partSizeBytes ?? DEFAULT_PART_BYTES;
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.maxSingleCopyBytes = options.maxSingleCopyBytes ?? FIVE_GIB;
    this.clock = options.clock ?? (() => new Date());
    this.client = options.client ?? new S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? true,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Checksums only where S3 requires them: S3-compatible servers reject the newer defaults.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, source: Readable, options: PutArtifactOptions = {}): Promise<StoredArtifact> {
    assertValidArtifactKey(key);
    const meter = putMeter(key, options);
    let sourceError: Error | undefined;
    pipeline(source, meter.stream, (error) => {
      if (error) sourceError ??= error;
    });
    const tmpKey = this.objectKey(`${TMP_PREFIX}${randomUUID()}`);
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: tmpKey, Body: meter.stream, ServerSideEncryption: 'AES256' },
        partSize: this.partSizeBytes,
        queueSize: this.queueSize,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        throw sourceError ?? error;
      }
      // The upload may finish with what it had if the source failed at its very end.
      if (sourceError !== undefined) throw sourceError;
      const sha256 = meter.verifiedSha256();
      const sizeBytes = meter.sizeBytes();
      await this.copy(tmpKey, this.objectKey(key), sizeBytes, sha256);
      return { key, sizeBytes, sha256 };
    } catch (error) {
      if (error instanceof ArtifactStoreError) throw error;
      throw new ArtifactStoreError(`storing artifact ${JSON.stringify(key)} failed: ${(error as Error).message}`, { cause: error });
    } finally {
      await this.deleteObject(tmpKey).catch(() => undefined);
    }
  }

  async get(key: string, range: ByteRange = {}): Promise<Readable> {
    const stat = await this.stat(key);
    if (stat === undefined) throw new ArtifactNotFoundError(key);
    let header: string | undefined;
    if (range.start !== undefined || range.end !== undefined) {
      const lastByte = stat.sizeBytes - 1;
      const start = range.start ?? 0;
      const end = Math.min(range.end ?? lastByte, lastByte);
      const isIndex = (n: number | undefined) => n === undefined || (Number.isSafeInteger(n) && n >= 0);
      if (!isIndex(range.start) || !isIndex(range.end) || start > end) throw new InvalidByteRangeError(key, range, stat.sizeBytes);
      header = `bytes=${start}-${end}`;
    }
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Range: header }));
      return response.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new ArtifactNotFoundError(key);
      throw new ArtifactStoreError(`reading artifact ${JSON.stringify(key)} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async stat(key: string): Promise<ArtifactStat | undefined> {
    assertValidArtifactKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      const sha256 = head.Metadata?.[SHA256_METADATA];
      if (sha256 === undefined) {
        throw new ArtifactStoreError(`object ${JSON.stringify(key)} has no ${SHA256_METADATA} metadata: it was not stored by HotSwap`);
      }
      return { sizeBytes: head.ContentLength ?? 0, sha256 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if (error instanceof ArtifactStoreError) throw error;
      throw new ArtifactStoreError(`reading artifact ${JSON.stringify(key)} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async move(fromKey: string, toKey: string): Promise<StoredArtifact> {
    assertValidArtifactKey(toKey);
    const stat = await this.stat(fromKey);
    if (stat === undefined) throw new ArtifactNotFoundError(fromKey);
    if (fromKey === toKey) return { key: toKey, ...stat };
    try {
      await this.copy(this.objectKey(fromKey), this.objectKey(toKey), stat.sizeBytes, stat.sha256);
      await this.deleteObject(this.objectKey(fromKey));
    } catch (error) {
      throw new ArtifactStoreError(`moving artifact ${JSON.stringify(fromKey)} to ${JSON.stringify(toKey)} failed: ${(error as Error).message}`, { cause: error });
    }
    return { key: toKey, ...stat };
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async delete(key: string): Promise<void> {
    assertValidArtifactKey(key);
    await this.deleteObject(this.objectKey(key));
  }

  /**
   * A URL that downloads the artifact directly from the bucket, valid for `expiresInSeconds`
   * (1 s to 7 days); S3 answers 403 once it has expired or if it was altered.
   */
  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    assertValidArtifactKey(key);
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
      throw new RangeError(`expiresInSeconds must be an integer from 1 to ${MAX_PRESIGN_SECONDS}, got ${expiresInSeconds}`);
    }
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), {
      expiresIn: expiresInSeconds,
      signingDate: this.clock(),
    });
  }

  private objectKey(key: string): string {
    return `${this.prefix}${key}`;
  }

  private async deleteObject(objectKey: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
  }

  /** Copies server-side, recording the checksum as metadata; in parts above S3's 5 GiB copy limit. */
  private async copy(fromKey: string, toKey: string, sizeBytes: number, sha256: string): Promise<void> {
    const common = { Bucket: this.bucket, Key: toKey, Metadata: { [SHA256_METADATA]: sha256 }, ServerSideEncryption: 'AES256' as const };
    const copySource = `${this.bucket}/${fromKey}`;
    if (sizeBytes <= this.maxSingleCopyBytes) {
      await this.client.send(new CopyObjectCommand({ ...common, CopySource: copySource, MetadataDirective: 'REPLACE' }));
      return;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand(common));
    try {
      const parts = [];
      for (let start = 0, part = 1; start < sizeBytes; start += COPY_PART_BYTES, part++) {
        const end = Math.min(start + COPY_PART_BYTES, sizeBytes) - 1;
        const result = await this.client.send(new UploadPartCopyCommand({
          Bucket: this.bucket, Key: toKey, UploadId, PartNumber: part, CopySource: copySource, CopySourceRange: `bytes=${start}-${end}`,
        }));
        parts.push({ PartNumber: part, ETag: result.CopyPartResult?.ETag });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: toKey, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: toKey, UploadId })).catch(() => undefined);
      throw error;
    }
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

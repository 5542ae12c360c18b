/**
 * The artifact store port: model files written once, read (by byte range) many times.
 * Adapters: local files (`LocalFileArtifactStore`), S3-compatible storage.
 */
import type { Readable } from 'node:stream';

export interface PutArtifactOptions {
  /** Refuse artifacts larger than this many bytes (`ArtifactTooLargeError`); unlimited when unset. */
  readonly maxSizeBytes?: number;
  /** Lowercase or uppercase hex SHA-256 the content must have (`ChecksumMismatchError`). */
  readonly expectedSha256?: string;
}

export interface StoredArtifact {
  readonly key: string;
  readonly sizeBytes: number;
  /** Lowercase hex SHA-256 of the content. */
  readonly sha256: string;
}

export interface ArtifactStat {
  readonly sizeBytes: number;
  readonly sha256: string;
}

/** A byte range, both ends inclusive as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  /** First byte (0-based); 0 when unset. */
  readonly start?: number;
  /** Last byte (inclusive); clamped to the last byte of the artifact; the end when unset. */
  readonly end?: number;
}

export interface ArtifactStore {
  /**
   * Streams `source` into the store under `key`, computing size and SHA-256 on the way. The
   * artifact becomes visible only once it is complete and checked; on any failure nothing of it
   * is left behind and a previous artifact under the same key is untouched.
   */
  put(key: string, source: Readable, options?: PutArtifactOptions): Promise<StoredArtifact>;
  /**
   * Reads the artifact, or a byte range of it (download resume).
   * @throws ArtifactNotFoundError, InvalidByteRangeError (→ HTTP 416)
   */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Size and checksum, or `undefined` when there is no artifact under `key`. */
  stat(key: string): Promise<ArtifactStat | undefined>;
  /**
   * Moves the artifact under `fromKey` to `toKey` (replacing what is there), without streaming it
   * through the caller: a rename on local files, a server-side copy on S3.
   * @throws ArtifactNotFoundError when there is nothing under `fromKey`
   */
  move(fromKey: string, toKey: string): Promise<StoredArtifact>;
  /** Removes the artifact; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

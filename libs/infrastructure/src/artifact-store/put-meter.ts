import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { PutArtifactOptions } from './artifact-store.port.js';
import { ArtifactTooLargeError, ChecksumMismatchError } from './errors.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * What every adapter's `put` does to the bytes on their way in: counts them against the size
 * bound and hashes them, so the check is the same whatever the storage.
 */
export interface PutMeter {
  /** Pipe the source through it; it fails with ArtifactTooLargeError past `maxSizeBytes`. */
  readonly stream: Transform;
  readonly sizeBytes: () => number;
  /** The SHA-256 of everything that passed; throws ChecksumMismatchError when it is not the expected one. */
  verifiedSha256(): string;
}

/** Checks the put options (throws RangeError / TypeError naming the bad one) and builds the meter. */
export function putMeter(key: string, options: PutArtifactOptions): PutMeter {
  const { maxSizeBytes } = options;
  if (maxSizeBytes !== undefined && !(Number.isSafeInteger(maxSizeBytes) && maxSizeBytes >= 0)) {
    throw new RangeError(`maxSizeBytes must be a non-negative integer, got ${maxSizeBytes}`);
  }
  const expected = options.expectedSha256?.toLowerCase();
  if (expected !== undefined && !SHA256_HEX.test(expected)) {
    throw new TypeError(`expectedSha256 must be 64 hex digits, got ${JSON.stringify(options.expectedSha256)}`);
  }
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const stream = new Transform({
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
  return {
    stream,
    sizeBytes: () => sizeBytes,
    verifiedSha256: () => {
      const sha256 = hash.digest('hex');
      if (expected !== undefined && expected !== sha256) throw new ChecksumMismatchError(key, expected, sha256);
      return sha256;
    },
  };
}

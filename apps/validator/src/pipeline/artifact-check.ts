import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Framework } from '@hotswap/contracts';

export interface CopiedArtifact {
  /** Lowercase hex SHA-256 of the bytes read. */
  readonly sha256: string;
  readonly sizeBytes: number;
  /** The format the first bytes show. */
  readonly format: Framework | 'unknown';
}

/**
 * Streams the stored artifact to a local file (onnxruntime loads from a path), hashing the bytes on
 * the way, so the check sees exactly what a device would download.
 */
export async function copyAndHash(source: Readable, path: string): Promise<CopiedArtifact> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  let head = Buffer.alloc(0);
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      if (head.length < 8) head = Buffer.concat([head, chunk.subarray(0, 8 - head.length)]);
      done(null, chunk);
    },
  });
  await pipeline(source, tap, createWriteStream(path));
  return { sha256: hash.digest('hex'), sizeBytes, format: formatOf(head) };
}

/**
 * The format the leading bytes show: a ZIP (TensorFlow SavedModel, TorchScript / zip-pickle
 * PyTorch, plain zip), a legacy pickle (PyTorch), or an ONNX ModelProto, whose first field is
 * `ir_version` (tag 0x08). The registry's inspection already checked the structure at upload; this
 * re-check catches bytes that changed since.
 */
export function formatOf(head: Buffer): Framework | 'unknown' {
  if (head.length >= 4 && head.readUInt32BE(0) === 0x504b0304) return 'zip';
  if (head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return 'pytorch';
  if (head.length >= 2 && head[0] === 0x08) return 'onnx';
  return 'unknown';
}

/** Whether the found format fits the declared framework (TensorFlow and PyTorch may both be ZIPs). */
export function formatMatches(declared: Framework, found: Framework | 'unknown'): boolean {
  if (declared === found) return true;
  return found === 'zip' && (declared === 'tensorflow' || declared === 'pytorch');
}

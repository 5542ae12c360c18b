import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Why the file at `path` is not the artifact the manifest describes, or undefined when it is. */
export async function artifactMismatch(path: string, expected: { sha256: string; sizeBytes: number }): Promise<string | undefined> {
  const size = (await stat(path)).size;
  if (size !== expected.sizeBytes) return digestMismatch({ bytes: size, sha256: '' }, expected);
  return digestMismatch({ bytes: size, sha256: await sha256File(path) }, expected);
}

/** The same verdict for a size and digest already computed (e.g. while downloading). */
export function digestMismatch(actual: { bytes: number; sha256: string }, expected: { sha256: string; sizeBytes: number }): string | undefined {
  if (actual.bytes !== expected.sizeBytes) return `size mismatch: artifact is ${actual.bytes} bytes, manifest says ${expected.sizeBytes}`;
  if (actual.sha256 !== expected.sha256) return `checksum mismatch: expected sha256 ${expected.sha256}, got ${actual.sha256}`;
  return undefined;
}

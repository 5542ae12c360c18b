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
  if (size !== expected.sizeBytes) return `size mismatch: artifact is ${size} bytes, manifest says ${expected.sizeBytes}`;
  const actual = await sha256File(path);
  if (actual !== expected.sha256) return `checksum mismatch: expected sha256 ${expected.sha256}, got ${actual}`;
  return undefined;
}

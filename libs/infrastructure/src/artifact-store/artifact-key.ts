import { InvalidArtifactKeyError } from './errors.js';

/** Longest accepted key, in characters; keeps keys usable as file paths and S3 object keys. */
export const MAX_ARTIFACT_KEY_LENGTH = 512;

const ALLOWED = /^[A-Za-z0-9._/-]+$/;

/**
 * Checks that `key` is a safe relative path such as `models/resnet-1.2.0/model.onnx`: only
 * `[A-Za-z0-9._/-]`, no absolute path, no empty, `.` or `..` segment. Keys become file paths and
 * URL paths, so anything that could escape the store's root is refused.
 * @throws InvalidArtifactKeyError
 */
export function assertValidArtifactKey(key: string): void {
  const fail = (reason: string): never => {
    throw new InvalidArtifactKeyError(key, reason);
  };
  if (typeof key !== 'string' || key.length === 0) fail('it is empty');
  if (key.length > MAX_ARTIFACT_KEY_LENGTH) fail(`it is longer than ${MAX_ARTIFACT_KEY_LENGTH} characters`);
  if (!ALLOWED.test(key)) fail('only letters, digits, ".", "_", "-" and "/" are allowed');
  if (key.startsWith('/')) fail('it must be a relative path');
  for (const segment of key.split('/')) {
    if (segment === '') fail('it has an empty path segment');
    if (segment === '.' || segment === '..') fail(`it has a "${segment}" path segment`);
  }
}

import { describe, expect, it } from '@jest/globals';
import { assertValidArtifactKey, InvalidArtifactKeyError, MAX_ARTIFACT_KEY_LENGTH } from './index.js';

describe('assertValidArtifactKey', () => {
  it.each(['model.onnx', 'models/resnet-50/1.2.0/model.onnx', 'a/b_c/D-9', '..hidden/x', 'a..b'])(
    'accepts the key %j',
    (key) => {
      expect(() => assertValidArtifactKey(key)).not.toThrow();
    },
  );

  it.each([
    ['', 'it is empty'],
    ['../x', 'it has a ".." path segment'],
    ['a/../x', 'it has a ".." path segment'],
    ['a/./x', 'it has a "." path segment'],
    ['/abs', 'it must be a relative path'],
    ['a//b', 'it has an empty path segment'],
    ['a/', 'it has an empty path segment'],
    ['a\\b', 'only letters, digits, ".", "_", "-" and "/" are allowed'],
    ['a%2e', 'only letters, digits, ".", "_", "-" and "/" are allowed'],
    ['x'.repeat(MAX_ARTIFACT_KEY_LENGTH + 1), `it is longer than ${MAX_ARTIFACT_KEY_LENGTH} characters`],
  ])('refuses the key %j because %s', (key, reason) => {
    expect(() => assertValidArtifactKey(key)).toThrow(new InvalidArtifactKeyError(key, reason));
    expect(() => assertValidArtifactKey(key)).toThrow(reason);
  });
});

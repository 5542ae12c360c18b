export type {
  ArtifactStat,
  ArtifactStore,
  ByteRange,
  PutArtifactOptions,
  StoredArtifact,
} from './artifact-store.port.js';
export { assertValidArtifactKey, MAX_ARTIFACT_KEY_LENGTH } from './artifact-key.js';
export {
  ArtifactNotFoundError,
  ArtifactStoreError,
  ArtifactTooLargeError,
  ChecksumMismatchError,
  InvalidArtifactKeyError,
  InvalidByteRangeError,
} from './errors.js';
export { LocalFileArtifactStore, type LocalFileArtifactStoreOptions } from './local-file-artifact-store.js';
export { S3ArtifactStore, type S3ArtifactStoreOptions } from './s3-artifact-store.js';
export {
  signUrl,
  verifySignedUrl,
  type SignedUrlVerdict,
  type SignUrlOptions,
  type VerifySignedUrlOptions,
} from './signed-url.js';

export interface DistributorOptions {
  /** Base URL devices download artifacts from (the gateway's `/artifacts/...`). */
  readonly artifactBaseUrl: string;
  /** HMAC secret of signed download URLs (shared with the gateway). */
  readonly urlSigningSecret: string;
  /** Ed25519 private key (PEM) signing release manifests; devices pin its public key. */
  readonly manifestPrivateKeyPem: string;
  /** How long a download URL stays valid. */
  readonly urlTtlMs: number;
  /** How long a signed release manifest stays valid. */
  readonly manifestTtlMs: number;
  /** How long to wait for a device to ack a command before relying on `sync`. */
  readonly commandAckTimeoutMs: number;
  /**
   * Only `Validated` models may be distributed (409 otherwise, listing a rejected model's failing
   * checks). Default true; turn off only for development.
   */
  readonly requireValidation: boolean;
  /**
   * When the artifact store can presign (S3), devices get a presigned URL straight to the bucket,
   * valid for `urlTtlMs` (at most 7 days), instead of a gateway URL. Default true; false when
   * devices cannot reach the object store.
   */
  readonly presignArtifactUrls: boolean;
}

export const DISTRIBUTOR_OPTIONS = Symbol.for('hotswap.distributor.options');

export const defaultDistributorOptions = {
  urlTtlMs: 60 * 60_000,
  manifestTtlMs: 7 * 24 * 60 * 60_000,
  commandAckTimeoutMs: 5_000,
  requireValidation: true,
  presignArtifactUrls: true,
} satisfies Partial<DistributorOptions>;

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ExecutionPolicy } from '@hotswap/contracts';
import type { GuardrailOptions } from './guardrails/guardrails.js';

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
  /** How often the conductor advances each distribution it owns (timers, waves, verification). */
  readonly tickIntervalMs: number;
  /** An owner that has not renewed its claim on a distribution for this long loses it to another instance. */
  readonly ownershipLeaseMs: number;
  /** This instance's name in ownership claims (unique per process). */
  readonly instanceId: string;
  /** Targets carrying one of these tags wait for an operator's approval before their wave (per environment). */
  readonly protectedTags: readonly string[];
  /** Execution settings of distributions that do not set their own. */
  readonly executionDefaults: ExecutionPolicy;
  /** Resource limits over which the distributor slows its rollouts and reports itself saturated (defaults when absent). */
  readonly guardrails?: GuardrailOptions;
}

/** The defaults of `execution` (request body), as the specification's operators would expect them. */
export const DEFAULT_EXECUTION_POLICY: ExecutionPolicy = {
  maxInFlight: 1000,
  ratePerMinute: 0,
  rampFactor: 1,
  initialRatePerMinute: 1000,
  deviceTimeoutMs: 5 * 60_000,
  maxRetries: 2,
  retryBackoffMs: 10_000,
  healthWindowMs: 30_000,
  minHealthSamples: 10,
  maxFailurePercentage: 0,
};

export const DISTRIBUTOR_OPTIONS = Symbol.for('hotswap.distributor.options');

export const defaultDistributorOptions = {
  urlTtlMs: 60 * 60_000,
  manifestTtlMs: 7 * 24 * 60 * 60_000,
  commandAckTimeoutMs: 5_000,
  requireValidation: true,
  presignArtifactUrls: true,
  tickIntervalMs: 1_000,
  ownershipLeaseMs: 5_000,
  instanceId: `distributor-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
  protectedTags: ['production'],
  executionDefaults: DEFAULT_EXECUTION_POLICY,
} satisfies Partial<DistributorOptions>;

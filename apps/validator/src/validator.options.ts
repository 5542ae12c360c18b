import type { ValidationThresholds } from '@hotswap/contracts';

export interface ValidatorOptions {
  /** Defaults of the quality gate, on top of the specification's; a request can override each. */
  readonly thresholds?: ValidationThresholds;
  /** Inferences timed by the benchmark step. Default 100, as the specification asks. */
  readonly benchmarkInferences?: number;
  /** Untimed inferences before the benchmark, so one-off allocations are not measured. Default 3. */
  readonly warmupInferences?: number;
  /**
   * Milliseconds after which a run this validator does not own counts as dead: a validate request
   * for a model stuck in `Validating` that long abandons the run (the model is Rejected with the
   * reason) and starts a new one, instead of answering 409. Default 600000 (10 minutes).
   */
  readonly staleRunMs?: number;
  /**
   * Whether runs left `Validating` by an earlier validator (started before this one) are abandoned
   * on start. Right for a single validator (the default, true); with replicas set it to false and
   * rely on `staleRunMs`, as a replica cannot tell a dead peer's run from a live one's.
   */
  readonly abandonRunsOnStart?: boolean;
  /**
   * Where load tests and benchmarks run when a request does not say (`onDevice`): `false` (the
   * default) in the validator, `true` on any Online device tagged `validation`, or that device id.
   */
  readonly onDevice?: boolean | string;
  /** How to reach validation devices; without it, a run asked on a device is Rejected saying so. */
  readonly device?: DeviceDispatchOptions;
}

/** What the validator signs device requests with, as the distributor does swaps. */
export interface DeviceDispatchOptions {
  /** Base URL devices download artifacts from (the gateway). */
  readonly artifactBaseUrl: string;
  /** HMAC key of download URLs, shared with the gateway. */
  readonly urlSigningSecret: string;
  /** Ed25519 private key (PEM) signing the release manifest. */
  readonly manifestPrivateKeyPem: string;
  /** How long the download URL stays valid, in ms. Default 3600000. */
  readonly urlTtlMs?: number;
  /** How long the signed manifest stays valid, in ms. Default 3600000. */
  readonly manifestTtlMs?: number;
  /** How long to wait for the device's figures, in ms. Default 120000. */
  readonly requestTimeoutMs?: number;
}

export const VALIDATOR_OPTIONS = Symbol.for('hotswap.validator.options');

export type ResolvedValidatorOptions = Required<Omit<ValidatorOptions, 'thresholds' | 'onDevice' | 'device'>>
  & Pick<ValidatorOptions, 'thresholds' | 'onDevice'> & { readonly device?: Required<DeviceDispatchOptions> };

export const defaultDeviceDispatchOptions = { urlTtlMs: 3_600_000, manifestTtlMs: 3_600_000, requestTimeoutMs: 120_000 };

export const defaultValidatorOptions = {
  benchmarkInferences: 100, warmupInferences: 3, staleRunMs: 600_000, abandonRunsOnStart: true,
} satisfies ValidatorOptions;

import type { ValidationThresholds } from '@hotswap/contracts';

export interface ValidatorOptions {
  /** Defaults of the quality gate, on top of the specification's; a request can override each. */
  readonly thresholds?: ValidationThresholds;
  /** Inferences timed by the benchmark step. Default 100, as the specification asks. */
  readonly benchmarkInferences?: number;
  /** Untimed inferences before the benchmark, so one-off allocations are not measured. Default 3. */
  readonly warmupInferences?: number;
}

export const VALIDATOR_OPTIONS = Symbol.for('hotswap.validator.options');

export type ResolvedValidatorOptions = Required<Omit<ValidatorOptions, 'thresholds'>> & Pick<ValidatorOptions, 'thresholds'>;

export const defaultValidatorOptions = { benchmarkInferences: 100, warmupInferences: 3 } satisfies ValidatorOptions;

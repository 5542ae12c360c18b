import type { ArtifactTransport, DistributionStatus, RollbackPolicy, Strategy, SuccessCriteria, TransportChoice } from './vocabulary.js';

/**
 * The vocabulary of distributions (rollouts) shared by the REST API, the commands, the events, the
 * planners and the monitor. Durations on the wire are ISO 8601 (`PT15M`); inside events they are
 * milliseconds (`...Ms`), parsed once when the distribution is created.
 */

/** One stage of a ProgressiveRollout: the cumulative share of the targets, and how long to observe it. */
export interface ProgressiveStage {
  /** Cumulative percentage of the targets running the model once this stage is done (0 < p <= 100). */
  readonly percentage: number;
  /** ISO 8601: how long to watch the stage before the next one. */
  readonly duration: string;
}

/** The metric an A/B test is decided on. */
export const AB_METRICS = ['accuracy', 'latency', 'errorRate'] as const;
export type AbMetric = (typeof AB_METRICS)[number];

/** How an A/B test picks its winner. */
export interface WinnerCriteria {
  readonly metric: AbMetric;
  /** Inferences each group must have served before a winner may be declared. Default 1000. */
  readonly minSamples?: number;
  /** The p-value below which a difference counts. Default 0.05. */
  readonly significanceLevel?: number;
  /** Roll the winner out to the losing group once it is declared. Default false. */
  readonly rolloutWinner?: boolean;
}

/**
 * The strategy fields of the specification, flat in the request body next to `strategy`. Which of
 * them are required depends on the strategy (see the planners' validation).
 */
export interface StrategyFields {
  /** RegionalRollout: regions in rollout order. */
  readonly regions?: readonly string[];
  /** RegionalRollout: ISO 8601 pause (and observation) between two regions. */
  readonly delayBetweenRegions?: string;
  /** Canary: share of the targets in the canary group (0 < p < 100). */
  readonly canaryPercentage?: number;
  /** Canary: ISO 8601 observation of the canary before the rest. */
  readonly canaryDuration?: string;
  /** ABTesting: the model of group A (usually the one running today). */
  readonly modelA?: string;
  /** ABTesting: the model of group B (the candidate). */
  readonly modelB?: string;
  /** ABTesting: share of the targets in group B. Default 50. */
  readonly splitPercentage?: number;
  /** ABTesting: ISO 8601 length of the test. */
  readonly testDuration?: string;
  readonly winnerCriteria?: WinnerCriteria;
  /** ProgressiveRollout: cumulative stages, strictly increasing, the last at 100. */
  readonly stages?: readonly ProgressiveStage[];
  /** ProgressiveRollout: false = each stage waits for an operator's approval. Default true. */
  readonly autoProgress?: boolean;
}

/** How fast a distribution commands devices (request body `execution`; durations ISO 8601). */
export interface ExecutionSettings {
  /** Devices commanded but not yet verified, at most. */
  readonly maxInFlight?: number;
  /** Devices commanded per minute, at most (the ramp's ceiling). */
  readonly ratePerMinute?: number;
  /** Exponential ramp: the first minute allows `initialRatePerMinute`, each next one `rampFactor` times more, up to `ratePerMinute`. */
  readonly rampFactor?: number;
  readonly initialRatePerMinute?: number;
  /** ISO 8601: a device that has not reported its swap by then has failed this attempt. */
  readonly deviceTimeout?: string;
  /** Attempts after the first one, per device. */
  readonly maxRetries?: number;
  /** ISO 8601: wait before the first retry; doubled for each further one. */
  readonly retryBackoff?: string;
  /** ISO 8601: after its swap, a device must serve within the success criteria this long to count as updated. */
  readonly healthWindow?: string;
  /** Inferences a device must report during its health window; fewer and it is not verified. */
  readonly minHealthSamples?: number;
  /** Share of the targets that may fail before the distribution fails (0..100). Default 0. */
  readonly maxFailurePercentage?: number;
}

/** The execution settings as recorded in `DistributionCreated`: complete, durations in ms. */
export interface ExecutionPolicy {
  readonly maxInFlight: number;
  /** 0 = no rate limit. */
  readonly ratePerMinute: number;
  /**
   * 1 = no ramp. Otherwise minute k (from 0) of the rollout allows
   * `min(ratePerMinute, initialRatePerMinute * rampFactor^k)` requests.
   */
  readonly rampFactor: number;
  readonly initialRatePerMinute: number;
  readonly deviceTimeoutMs: number;
  readonly maxRetries: number;
  readonly retryBackoffMs: number;
  readonly healthWindowMs: number;
  readonly minHealthSamples: number;
  readonly maxFailurePercentage: number;
}

/** A daily window (UTC, `HH:MM`) in which the devices of some regions may be swapped; may wrap midnight. */
export interface MaintenanceWindow {
  readonly regions: readonly string[];
  readonly start: string;
  readonly end: string;
}

/** Why a wave waits for an operator before it starts. */
export const APPROVAL_REASONS = ['stage', 'protected-targets'] as const;
export type ApprovalReason = (typeof APPROVAL_REASONS)[number];

/**
 * One wave of a plan: a group of targets that get `modelId`, then a gate. Targets are stored in
 * wave order, so wave n holds `size` consecutive targets (plus any added while it runs).
 */
export interface WaveSpec {
  /** `all`, a region, `canary`, `rest`, `A`, `B`, `stage-2`, `winner`… */
  readonly name: string;
  /** The monitoring group its devices belong to (the canary is compared with `control`). */
  readonly group: string;
  readonly modelId: string;
  readonly size: number;
  /** Observation after the wave's devices are verified, before the next wave; 0 = none. */
  readonly observeMs: number;
  /** Set when the wave must be approved before it starts. */
  readonly approval?: ApprovalReason;
}

/** Per-target facts recorded at planning, dictionary-encoded (see `DistributionCreated.snapshot`). */
export interface TargetSnapshot {
  readonly modelIds: readonly string[];
  readonly regions: readonly string[];
  readonly model: readonly number[];
  readonly region: readonly number[];
}

/** A target left out of a distribution, and why (e.g. the model needs a GPU the device lacks). */
export interface ExcludedTarget {
  readonly deviceId: string;
  readonly reason: string;
}

/** The A/B test of an ABTesting distribution, as recorded at creation. */
export interface AbTestSpec {
  readonly modelA: string;
  readonly modelB: string;
  readonly metric: AbMetric;
  readonly minSamples: number;
  readonly significanceLevel: number;
  readonly rolloutWinner: boolean;
  readonly testDurationMs: number;
}

/** What starts a rollback or a freeze. */
export const DEGRADATION_TRIGGERS = ['latency', 'errorRate', 'accuracy', 'health', 'manual'] as const;
export type DegradationTrigger = (typeof DEGRADATION_TRIGGERS)[number];

/** Operator verbs (`POST /api/v1/distributions/{id}/<verb>`). */
export const DISTRIBUTION_VERBS = ['pause', 'resume', 'approve', 'cancel', 'rollback', 'promote'] as const;
export type DistributionVerb = (typeof DISTRIBUTION_VERBS)[number];

/** Where one target stands. */
export const TARGET_STATUSES = [
  'Pending', 'Requested', 'Verifying', 'Updated', 'Retrying', 'Failed', 'RollingBack', 'RolledBack',
] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

/** Statuses a distribution does not leave by itself. */
export const FINISHED_DISTRIBUTION_STATUSES: readonly DistributionStatus[] = ['Succeeded', 'Failed', 'RolledBack', 'Cancelled'];

/** The internal `create-distribution` command and the body of `POST /api/v1/distributions`. */
export interface DistributionRequest extends StrategyFields {
  readonly modelId?: string;
  readonly strategy: Strategy;
  readonly targetDevices?: readonly string[];
  readonly targetFilter?: TargetFilter;
  readonly successCriteria?: SuccessCriteria;
  readonly schedule?: { readonly startAt: string };
  readonly rollbackPolicy?: RollbackPolicy;
  readonly execution?: ExecutionSettings;
  readonly maintenanceWindows?: readonly MaintenanceWindow[];
  /** How devices receive the artifact; default `auto` (each device's `transport` capability). */
  readonly transport?: TransportChoice;
}

export interface TargetFilter {
  readonly region?: string;
  readonly deviceType?: string;
  /** Devices carrying every one of these tags. */
  readonly tags?: readonly string[];
  readonly capabilities?: {
    readonly gpu?: boolean;
    readonly minCpuCores?: number;
    readonly minMemoryMb?: number;
    readonly minStorageMb?: number;
    /** `nats` selects the sites that reach the world only through NATS. */
    readonly transport?: ArtifactTransport;
  };
}

/** One wave of a dry run or a status view. */
export interface WaveView {
  readonly wave: number;
  readonly name: string;
  readonly group: string;
  readonly modelId: string;
  readonly deviceIds?: readonly string[];
  readonly size: number;
  readonly observeMs: number;
  readonly approval?: ApprovalReason;
  readonly status?: 'Waiting' | 'Running' | 'Observing' | 'AwaitingApproval' | 'Done';
  readonly updated?: number;
  readonly failed?: number;
}

/** `POST /api/v1/distributions?dryRun=true`: what would happen, nothing recorded. */
export interface DistributionPlanView {
  readonly strategy: Strategy;
  readonly modelId: string;
  readonly waves: readonly WaveView[];
  readonly excluded: readonly ExcludedTarget[];
  readonly startAt?: string;
  readonly execution: ExecutionPolicy;
}

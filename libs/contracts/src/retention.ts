/**
 * The retention policy of old model versions (`POST /api/v1/retention/run`): which versions it
 * deletes and why it keeps the others.
 */

/** A policy keeps a version when any of its rules does; a policy with no rule is off. */
export interface RetentionPolicy {
  /** Keep the newest N versions (by semver) of each model name. */
  readonly keepLatest?: number;
  /** Keep versions uploaded less than this long ago, in ms. */
  readonly maxAgeMs?: number;
}

/** `apply-retention-policy`. */
export interface ApplyRetentionPolicyCommand {
  readonly actor: string;
  /** List what would be deleted without deleting anything. */
  readonly dryRun: boolean;
}

export interface RetentionDecision {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly reason: string;
}

export interface RetentionReport {
  readonly dryRun: boolean;
  /** The policy applied (`maxAge` as ISO 8601). */
  readonly policy: { readonly keepLatest?: number; readonly maxAge?: string };
  readonly ranAt: string;
  /** Deleted (or, in a dry run, to be deleted), each with why no rule keeps it. */
  readonly deleted: readonly RetentionDecision[];
  /** Kept, each with the rule or the use that keeps it. */
  readonly kept: readonly RetentionDecision[];
  /** Selected for deletion but refused by the registry (e.g. a device started running it meanwhile). */
  readonly failed: readonly RetentionDecision[];
}

/** The actor of the `ModelVersionDeleted` events the policy records. */
export const RETENTION_ACTOR = 'retention-policy';

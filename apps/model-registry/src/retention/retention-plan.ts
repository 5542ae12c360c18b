import type { ModelView, RetentionDecision, RetentionPolicy } from '@hotswap/contracts';
import { compareSemver } from '@hotswap/domain';
import { formatDuration } from './retention-config.js';

export interface RetentionPlan {
  /** Versions no rule keeps: deleted unless a device or a distribution uses them (asked next). */
  readonly candidates: readonly RetentionDecision[];
  readonly kept: readonly RetentionDecision[];
}

/**
 * Applies the policy's rules to every version, pure: a version is kept when any rule keeps it
 * (among the newest `keepLatest` of its name, uploaded less than `maxAgeMs` before `now`), when it
 * is the newest Validated version of its name (what a rollback or a new rollout would take), or
 * while it is being validated. Use by devices and distributions is checked by the caller.
 */
export function planRetention(versions: readonly ModelView[], policy: RetentionPolicy, now: Date): RetentionPlan {
  const candidates: RetentionDecision[] = [];
  const kept: RetentionDecision[] = [];
  const byName = new Map<string, ModelView[]>();
  for (const v of versions) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
  for (const [name, all] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const newestFirst = [...all].sort((a, b) => compareSemver(b.version, a.version) || b.uploadedAt.localeCompare(a.uploadedAt));
    const newestValidated = newestFirst.find((v) => v.status === 'Validated');
    newestFirst.forEach((v, index) => {
      const decision = (reason: string): RetentionDecision => ({ id: v.id, name, version: v.version, reason });
      const ageMs = now.getTime() - Date.parse(v.uploadedAt);
      if (policy.keepLatest === undefined && policy.maxAgeMs === undefined) {
        // No rule, no deletion: a policy that is off must never empty the registry.
        kept.push(decision('no retention rule is set'));
      } else if (policy.keepLatest !== undefined && index < policy.keepLatest) {
        kept.push(decision(`among the newest ${policy.keepLatest} versions of ${name}`));
      } else if (policy.maxAgeMs !== undefined && ageMs < policy.maxAgeMs) {
        kept.push(decision(`uploaded ${v.uploadedAt}, less than ${formatDuration(policy.maxAgeMs)} ago`));
      } else if (v === newestValidated) {
        kept.push(decision(`the newest Validated version of ${name}`));
      } else if (v.status === 'Validating') {
        kept.push(decision('being validated'));
      } else {
        const reasons = [
          ...(policy.keepLatest !== undefined ? [`not among the newest ${policy.keepLatest} versions of ${name}`] : []),
          ...(policy.maxAgeMs !== undefined ? [`uploaded ${v.uploadedAt}, more than ${formatDuration(policy.maxAgeMs)} ago`] : []),
        ];
        candidates.push(decision(reasons.join('; ')));
      }
    });
  }
  return { candidates, kept };
}

import type { PlanInput, RolloutAction, RolloutPlan, RolloutPlanner, RolloutSituation } from './planner.js';
import { assertDistinctTargets, fleetDevice } from './planner.js';

/** At most this many failed devices are named in a failure reason; the rest are counted. */
const MAX_NAMED_FAILURES = 10;

/** Direct: every target in one wave, at once. */
export function planDirect({ modelId, targets, fleet }: PlanInput): RolloutPlan {
  assertDistinctTargets('direct rollout', targets);
  return {
    strategy: 'Direct',
    waves: [[...targets]],
    alreadyRunning: targets.filter((id) => fleetDevice(fleet, id)?.currentModelId === modelId),
  };
}

/**
 * Requests the single wave while nothing has been requested; then succeeds once every target is
 * updated, or fails once every target has answered and any of them failed. Decides from the
 * counts, so a result costs O(1); only a failure scans the targets, to name them.
 */
export function nextDirect({ plan, counts, targetState }: RolloutSituation): RolloutAction[] {
  const total = counts.Pending + counts.Requested + counts.Updated + counts.Failed;
  if (counts.Pending === total) return [{ type: 'RequestWave', wave: 1, deviceIds: plan.waves.flat() }];
  if (counts.Updated === total) return [{ type: 'Succeed', updated: counts.Updated }];
  if (counts.Updated + counts.Failed < total) return [];
  const failedIds = plan.waves.flat().filter((id) => targetState(id)?.status === 'Failed');
  const named = failedIds.slice(0, MAX_NAMED_FAILURES).join(', ');
  const more = failedIds.length > MAX_NAMED_FAILURES ? ` and ${failedIds.length - MAX_NAMED_FAILURES} more` : '';
  return [{
    type: 'Fail',
    reason: `${counts.Failed} of ${total} targets failed to update: ${named}${more}`,
    updated: counts.Updated,
    failed: counts.Failed,
  }];
}

export const directPlanner: RolloutPlanner = { strategy: 'Direct', plan: planDirect, next: nextDirect };

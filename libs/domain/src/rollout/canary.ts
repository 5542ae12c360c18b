import { PlanError, shareOf, type StrategyInput, type StrategyPlanner } from './planner.js';
import { requireDuration, requirePercentage } from './fields.js';

/**
 * Canary: `canaryPercentage` of the targets first, observed for `canaryDuration` against the rest
 * (the `control` group, still on their old model); then the rest.
 */
export const canaryPlanner: StrategyPlanner = {
  strategy: 'Canary',
  plan({ request, modelId, targets }: StrategyInput) {
    const percentage = requirePercentage('canaryPercentage', request.canaryPercentage, { max: 100, maxInclusive: false });
    const observeMs = requireDuration('canaryDuration', request.canaryDuration);
    if (targets.length < 2) throw new PlanError('canaryPercentage', `needs at least 2 targets to leave a control group, got ${targets.length}`);
    const size = Math.min(targets.length - 1, shareOf(targets.length, percentage));
    return {
      waves: [
        { name: 'canary', group: 'canary', modelId, deviceIds: targets.slice(0, size), observeMs },
        { name: 'rest', group: 'control', modelId, deviceIds: targets.slice(size), observeMs: 0 },
      ],
    };
  },
};

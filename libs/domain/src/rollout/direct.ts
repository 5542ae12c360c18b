import type { StrategyInput, StrategyPlanner } from './planner.js';
import { refuseFields } from './fields.js';

/** Direct: every target in one wave, at once. */
export const directPlanner: StrategyPlanner = {
  strategy: 'Direct',
  plan({ request, modelId, targets }: StrategyInput) {
    const { regions, canaryPercentage, stages, modelA, modelB } = request;
    refuseFields('Direct', { regions, canaryPercentage, stages, modelA, modelB });
    return { waves: [{ name: 'all', group: 'all', modelId, deviceIds: [...targets], observeMs: 0 }] };
  },
};

import { PlanError, shareOf, type PlannedWave, type StrategyInput, type StrategyPlanner } from './planner.js';
import { requireDuration, requirePercentage } from './fields.js';

/**
 * ProgressiveRollout: cumulative stages (e.g. 10, 50, 100 %), each observed for its duration; with
 * `autoProgress: false` every stage after the first waits for an operator's approval.
 */
export const progressivePlanner: StrategyPlanner = {
  strategy: 'ProgressiveRollout',
  plan({ request, modelId, targets }: StrategyInput) {
    const { stages } = request;
    if (!Array.isArray(stages) || stages.length === 0) throw new PlanError('stages', 'must list at least one stage');
    if (request.autoProgress !== undefined && typeof request.autoProgress !== 'boolean') {
      throw new PlanError('autoProgress', 'must be true or false');
    }
    const autoProgress = request.autoProgress ?? true;
    let previous = 0;
    const waves: PlannedWave[] = [];
    stages.forEach((stage, index) => {
      const percentage = requirePercentage(`stages[${index}].percentage`, stage?.percentage);
      if (percentage <= previous) {
        throw new PlanError(`stages[${index}].percentage`, `must be greater than the previous stage's ${previous} (stages are cumulative and increasing), got ${percentage}`);
      }
      const observeMs = requireDuration(`stages[${index}].duration`, stage.duration);
      const end = shareOf(targets.length, percentage);
      const start = shareOf(targets.length, previous);
      waves.push({
        name: `stage-${index + 1}`, group: `stage-${index + 1}`, modelId, deviceIds: targets.slice(start, end),
        observeMs: index === stages.length - 1 ? 0 : observeMs,
        ...(!autoProgress && index > 0 ? { approval: 'stage' as const } : {}),
      });
      previous = percentage;
    });
    if (previous !== 100) throw new PlanError(`stages[${stages.length - 1}].percentage`, `must be 100: the last stage reaches every target, got ${previous}`);
    return { waves };
  },
};

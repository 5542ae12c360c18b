import { AB_METRICS } from '@hotswap/contracts';
import { show } from '../validation.js';
import { PlanError, shareOf, type StrategyInput, type StrategyPlanner } from './planner.js';
import { requireDuration, requirePercentage } from './fields.js';

const DEFAULT_MIN_SAMPLES = 1000;
const DEFAULT_SIGNIFICANCE = 0.05;

/**
 * ABTesting: group A gets `modelA`, group B (`splitPercentage`, default 50 %) gets `modelB`; both
 * serve for `testDuration`, then the monitor's statistical test names the winner, which may be
 * rolled out to the other group.
 */
export const abTestingPlanner: StrategyPlanner = {
  strategy: 'ABTesting',
  plan({ request, targets }: StrategyInput) {
    const { modelA, modelB, winnerCriteria } = request;
    if (typeof modelA !== 'string' || modelA === '') throw new PlanError('modelA', 'is required: the model of group A');
    if (typeof modelB !== 'string' || modelB === '') throw new PlanError('modelB', 'is required: the model of group B');
    if (modelA === modelB) throw new PlanError('modelB', `must differ from modelA (${modelA})`);
    if (request.modelId !== undefined && request.modelId !== modelB) {
      throw new PlanError('modelId', `must be modelB (${modelB}) or left out for an A/B test, got ${show(request.modelId)}`);
    }
    const split = request.splitPercentage === undefined ? 50 : requirePercentage('splitPercentage', request.splitPercentage, { max: 100, maxInclusive: false });
    const testDurationMs = requireDuration('testDuration', request.testDuration);
    if (winnerCriteria === undefined || typeof winnerCriteria !== 'object') throw new PlanError('winnerCriteria', 'is required: { metric: accuracy | latency | errorRate }');
    if (!AB_METRICS.includes(winnerCriteria.metric)) {
      throw new PlanError('winnerCriteria.metric', `must be one of ${AB_METRICS.join(', ')}, got ${show(winnerCriteria.metric)}`);
    }
    if (targets.length < 2) throw new PlanError('targets', `an A/B test needs at least 2 targets, got ${targets.length}`);
    const sizeB = Math.min(targets.length - 1, shareOf(targets.length, split));
    const sizeA = targets.length - sizeB;
    return {
      waves: [
        { name: 'A', group: 'A', modelId: modelA, deviceIds: targets.slice(0, sizeA), observeMs: 0 },
        { name: 'B', group: 'B', modelId: modelB, deviceIds: targets.slice(sizeA), observeMs: testDurationMs },
      ],
      abTest: {
        modelA, modelB, metric: winnerCriteria.metric, testDurationMs,
        minSamples: winnerCriteria.minSamples ?? DEFAULT_MIN_SAMPLES,
        significanceLevel: winnerCriteria.significanceLevel ?? DEFAULT_SIGNIFICANCE,
        rolloutWinner: winnerCriteria.rolloutWinner ?? false,
      },
    };
  },
};

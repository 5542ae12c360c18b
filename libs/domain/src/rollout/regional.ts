import { fleetDevice, PlanError, type PlannedWave, type StrategyInput, type StrategyPlanner } from './planner.js';
import { requireDuration } from './fields.js';

/**
 * RegionalRollout: one wave per region, in the order given, with `delayBetweenRegions` of
 * observation after each. Targets in regions not listed are left out and reported.
 */
export const regionalPlanner: StrategyPlanner = {
  strategy: 'RegionalRollout',
  plan({ request, modelId, targets }: StrategyInput) {
    const { regions } = request;
    if (!Array.isArray(regions) || regions.length === 0) throw new PlanError('regions', 'must list at least one region');
    const known = new Set(request.knownRegions);
    regions.forEach((region, index) => {
      if (!known.has(region)) {
        throw new PlanError(`regions[${index}]`, `names an unknown region ${JSON.stringify(region)} (known: ${[...known].sort().join(', ') || 'none'})`);
      }
      if (regions.indexOf(region) !== index) throw new PlanError(`regions[${index}]`, `repeats region ${JSON.stringify(region)}`);
    });
    const delayMs = requireDuration('delayBetweenRegions', request.delayBetweenRegions);
    const byRegion = new Map<string, string[]>(regions.map((region) => [region, []]));
    for (const id of targets) byRegion.get(fleetDevice(request.fleet, id)?.region ?? '')?.push(id);
    const waves: PlannedWave[] = regions
      .map((region, index) => ({
        name: region, group: region, modelId, deviceIds: byRegion.get(region) ?? [],
        observeMs: index === regions.length - 1 ? 0 : delayMs,
      }));
    return { waves };
  },
};

import { describe, expect, it } from '@jest/globals';
import type { DistributionEvent } from '@hotswap/contracts';
import type { DistributionState } from '@hotswap/domain';
import { startMetrics } from '@hotswap/infrastructure';
import { recordDistributionMetrics } from './distribution-metrics.js';

const ev = (type: string, data: Record<string, unknown> = {}) => ({ type, data: { distributionId: 'd-1', ...data } }) as unknown as DistributionEvent;
const finished = { status: 'Succeeded', createdAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:01.000Z', finishedAt: '2026-01-01T00:00:31.000Z' } as unknown as DistributionState;

function value(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('distribution metrics from committed events', () => {
  it('counts creations, updated devices, swaps, successes and failures, and times finished distributions', async () => {
    const metrics = startMetrics({ serviceName: 'distributor', processMetrics: false });
    try {
      recordDistributionMetrics(metrics, [ev('DistributionCreated'), ev('DistributionStarted')], { status: 'Empty' });
      // With a health window: the swap first, the success later.
      recordDistributionMetrics(metrics, [ev('TargetSwapped', { swapMs: 40 })], { status: 'Empty' });
      recordDistributionMetrics(metrics, [ev('TargetUpdateSucceeded', { swapMs: 40 })], { status: 'Empty' });
      // Without one: both in one command.
      recordDistributionMetrics(metrics, [ev('TargetSwapped', { swapMs: 60 }), ev('TargetUpdateSucceeded', { swapMs: 60 }), ev('DistributionSucceeded')], finished);
      recordDistributionMetrics(metrics, [ev('DistributionRolledBack')], finished);
      recordDistributionMetrics(metrics, [ev('DistributionFailed')], { status: 'Failed', createdAt: 'x' } as unknown as DistributionState);

      const text = await metrics.prometheusText();
      expect(value(text, 'distributions_created_total')).toBe(1);
      expect(value(text, 'devices_updated_total')).toBe(2);
      expect(value(text, 'model_swap_duration_count')).toBe(2);
      expect(value(text, 'model_swap_duration_sum')).toBe(100);
      expect(value(text, 'distributions_succeeded_total')).toBe(1);
      expect(value(text, 'distributions_failed_total')).toBe(2);
      // The unfinished state (no finishedAt) is not timed.
      expect(value(text, 'distribution_duration_count')).toBe(2);
      expect(value(text, 'distribution_duration_sum')).toBe(60_000);
    } finally {
      await metrics.shutdown();
    }
  });

  it('does nothing without a metrics handle', () => {
    expect(() => recordDistributionMetrics(undefined, [ev('DistributionCreated')], { status: 'Empty' })).not.toThrow();
  });
});

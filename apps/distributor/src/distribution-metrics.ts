import type { DistributionEvent } from '@hotswap/contracts';
import type { DistributionState } from '@hotswap/domain';
import type { ServiceMetrics } from '@hotswap/infrastructure';

/**
 * The distribution figures, counted from the events a command just committed. Every distribution
 * event passes through `DistributionCommands.run` exactly once, in the replica whose append
 * succeeded, so the counts summed over replicas are the fleet's, without double counting:
 * `distributions.created.total`, `.succeeded.total`, `.failed.total` (failed or rolled back),
 * `devices.updated.total` (a target that passed its health window), `model.swap.duration` (the
 * device's reported swap time, on `TargetSwapped`, which every success follows) and
 * `distribution.duration` (start to end; `after` is the state the events led to).
 */
export function recordDistributionMetrics(metrics: ServiceMetrics | undefined, events: readonly DistributionEvent[], after: DistributionState): void {
  if (metrics === undefined) return;
  for (const event of events) {
    switch (event.type) {
      case 'DistributionCreated':
        metrics.counters.distributionsCreated.add(1);
        break;
      case 'TargetSwapped':
        metrics.histograms.modelSwapDuration.record(event.data.swapMs);
        break;
      case 'TargetUpdateSucceeded':
        metrics.counters.devicesUpdated.add(1);
        break;
      case 'DistributionSucceeded':
        metrics.counters.distributionsSucceeded.add(1);
        recordDuration(metrics, after);
        break;
      case 'DistributionFailed':
      case 'DistributionRolledBack':
        metrics.counters.distributionsFailed.add(1);
        recordDuration(metrics, after);
        break;
      default:
        break;
    }
  }
}

function recordDuration(metrics: ServiceMetrics, state: DistributionState): void {
  if (state.status === 'Empty' || state.finishedAt === undefined) return;
  const from = Date.parse(state.startedAt ?? state.createdAt);
  const to = Date.parse(state.finishedAt);
  if (Number.isFinite(from) && Number.isFinite(to) && to >= from) metrics.histograms.distributionDuration.record(to - from);
}

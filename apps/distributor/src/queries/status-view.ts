import { MAX_STATUS_DEVICES, type DistributionPlanView, type DistributionStatusView } from '@hotswap/contracts';
import {
  distributionProgress, distributionTargets, distributionWaves, type DistributionPlan, type ExistingDistribution, type PlanRequest,
} from '@hotswap/domain';

/**
 * The status view is folded from the distribution's own stream: always current, no lag. It holds a
 * page of the per-device rows (by default the first `MAX_STATUS_DEVICES`): all of a 10 000-device
 * rollout's would not fit one NATS message.
 */
export function toStatusView(state: ExistingDistribution, page: { devicesOffset?: number; devicesLimit?: number } = {}): DistributionStatusView {
  const waves = distributionWaves(state);
  const current = waves[state.currentWave - 1];
  const targets = distributionTargets(state);
  const offset = page.devicesOffset ?? 0;
  const limit = Math.min(page.devicesLimit ?? MAX_STATUS_DEVICES, MAX_STATUS_DEVICES);
  return {
    id: state.distributionId,
    modelId: state.modelId,
    strategy: state.strategy,
    status: state.status,
    ...(current !== undefined ? { stage: current.name } : {}),
    progress: distributionProgress(state),
    waves,
    devices: targets.slice(offset, offset + limit).map((t) => ({
      deviceId: t.deviceId,
      state: t.status,
      wave: t.wave,
      ...(t.modelId !== undefined ? { modelId: t.modelId } : {}),
      ...(t.attempt > 0 ? { attempt: t.attempt } : {}),
      ...(t.swapMs !== undefined ? { swapMs: t.swapMs } : {}),
      ...(t.reason !== undefined ? { reason: t.reason } : {}),
    })),
    devicesPage: { offset, limit, total: targets.length },
    excluded: state.excluded,
    rollbackPolicy: state.rollbackPolicy,
    successCriteria: state.successCriteria,
    execution: state.execution,
    createdAt: state.createdAt,
    ...(state.startAt !== undefined ? { startAt: state.startAt } : {}),
    startedAt: state.startedAt ?? state.createdAt,
    ...(state.finishedAt !== undefined ? { finishedAt: state.finishedAt } : {}),
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
    history: state.history,
    ...(state.degradation !== undefined ? { degradation: state.degradation } : {}),
    ...(state.abResult !== undefined ? { abTest: state.abResult } : {}),
  };
}

/** The dry run: the waves with their devices, and who is left out and why. */
export function toPlanView(plan: DistributionPlan, request: PlanRequest): DistributionPlanView {
  return {
    strategy: plan.strategy,
    modelId: plan.modelId,
    waves: plan.waves.map((wave, i) => ({
      wave: i + 1, name: wave.name, group: wave.group, modelId: wave.modelId, deviceIds: wave.deviceIds, size: wave.deviceIds.length,
      observeMs: wave.observeMs, ...(wave.approval !== undefined ? { approval: wave.approval } : {}),
    })),
    excluded: plan.excluded,
    ...(request.startAt !== undefined ? { startAt: request.startAt } : {}),
    execution: request.execution,
  };
}

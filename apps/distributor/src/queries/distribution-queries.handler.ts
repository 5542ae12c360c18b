import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queries, queueGroup, Services, type DistributionStatusView, type DistributionsUsingModelQuery } from '@hotswap/contracts';
import { distributionProgress, distributionTargets, NotFoundError, type DistributionState } from '@hotswap/domain';
import {
  closeAll, SERVICE_RUNTIME, serveHealth, validateById, type BusSubscription, type ServiceRuntime, type ValidationResult,
} from '@hotswap/infrastructure';
import { DistributionCommands } from '../distribution-commands.js';
import { DistributionsReadModel } from '../projections/distributions/distributions.read-model.js';

/** The status view is folded from the distribution's own stream: always current, no lag. */
export function toStatusView(state: Exclude<DistributionState, { status: 'Empty' }>): DistributionStatusView {
  return {
    id: state.distributionId,
    modelId: state.modelId,
    strategy: state.strategy,
    status: state.status === 'Created' ? 'Scheduled' : state.status,
    progress: distributionProgress(state),
    devices: distributionTargets(state).map((t) => ({
      deviceId: t.deviceId,
      state: t.status,
      ...('swapMs' in t && t.swapMs !== undefined ? { swapMs: t.swapMs } : {}),
      ...('reason' in t && t.reason !== undefined ? { reason: t.reason } : {}),
    })),
    startedAt: state.startedAt ?? state.createdAt,
    ...(state.finishedAt ? { finishedAt: state.finishedAt } : {}),
  };
}

@Injectable()
export class DistributionQueriesHandler implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly distributions: DistributionCommands,
    private readonly readModel: DistributionsReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.distributor);
    this.subscriptions = await Promise.all([
      this.runtime.bus.handle(Queries.getDistributionStatus, {
        queue, validate: validateById,
        handler: async ({ id }) => {
          const state = await this.distributions.state(id);
          if (state.status === 'Empty') throw new NotFoundError(`distribution ${id} not found`);
          return toStatusView(state);
        },
      }),
      this.runtime.bus.handle(Queries.distributionsUsingModel, {
        queue, validate: validateByModelId,
        handler: ({ modelId }) => this.readModel.usingModel(modelId),
      }),
      serveHealth(this.runtime.bus, Queries.health(Services.distributor), queue),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

function validateByModelId(payload: unknown): ValidationResult<DistributionsUsingModelQuery> {
  const modelId = (payload as { modelId?: unknown } | null)?.modelId;
  return typeof modelId === 'string' && modelId.length > 0 && modelId.length <= 200
    ? { ok: true, value: { modelId } }
    : { ok: false, reason: 'modelId must be a non-empty string of at most 200 characters' };
}

import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queries, queueGroup, Services, type DistributionStatusView } from '@hotswap/contracts';
import { distributionProgress, distributionTargets, type DistributionState } from '@hotswap/domain';
import { SERVICE_RUNTIME, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { DistributionCommands } from '../distribution-commands.js';

class NotFound extends Error {
  readonly code = 'NOT_FOUND';
}

const byId = (payload: unknown): ValidationResult<{ id: string }> => {
  const id = (payload as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 100 ? { ok: true, value: { id } } : { ok: false, reason: 'id must be a non-empty string' };
};

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
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.distributor);
    this.subscriptions = await Promise.all([
      this.runtime.bus.handle(Queries.getDistributionStatus, {
        queue, validate: byId,
        handler: async ({ id }) => {
          const state = await this.distributions.state(id);
          if (state.status === 'Empty') throw new NotFound(`distribution ${id} not found`);
          return toStatusView(state);
        },
      }),
      this.runtime.bus.handle(Queries.health(Services.distributor), { queue, validate: (p) => ({ ok: true, value: p }), handler: () => ({ status: 'ok' }) }),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
  }
}

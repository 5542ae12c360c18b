import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  DistributionDevicesPageDto, ListDistributionsQueryDto, Queries, queueGroup, Services,
  type DistributionPlanView, type DistributionStatus, type DistributionStatusQuery, type DistributionsUsingModelQuery, type PlanDistributionQuery,
} from '@hotswap/contracts';
import { NotFoundError, planDistribution } from '@hotswap/domain';
import {
  closeAll, SERVICE_RUNTIME, serveHealth, validateById, validateWith, type BusSubscription, type ServiceRuntime, type ValidationResult,
} from '@hotswap/infrastructure';
import { validateCreateDistribution } from '../commands/create-distribution/create-distribution.handler.js';
import { DistributionCommands } from '../distribution-commands.js';
import { PlanRequests } from '../planning/plan-requests.js';
import { DistributionsReadModel } from '../projections/distributions/distributions.read-model.js';
import { toPlanView, toStatusView } from './status-view.js';

@Injectable()
export class DistributionQueriesHandler implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly distributions: DistributionCommands,
    private readonly readModel: DistributionsReadModel,
    private readonly plans: PlanRequests,
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.distributor);
    this.subscriptions = await Promise.all([
      this.runtime.bus.handle(Queries.getDistributionStatus, {
        queue, validate: validateStatusQuery,
        handler: async ({ id, ...page }) => {
          const state = await this.distributions.state(id);
          if (state.status === 'Empty') throw new NotFoundError(`distribution ${id} not found`);
          return toStatusView(state, page);
        },
      }),
      this.runtime.bus.handle(Queries.listDistributions, {
        queue, validate: validateWith(ListDistributionsQueryDto),
        handler: (query) => this.readModel.list(query as { status?: DistributionStatus; modelId?: string; limit?: number; offset?: number }),
      }),
      this.runtime.bus.handle(Queries.planDistribution, {
        queue, validate: validateCreateDistribution,
        handler: (query: PlanDistributionQuery): Promise<DistributionPlanView> => this.plan(query),
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

  /** The dry run of a create-distribution: the same resolution and plan, nothing recorded or claimed. */
  private async plan(query: PlanDistributionQuery): Promise<DistributionPlanView> {
    const request = await this.plans.build(query);
    return toPlanView(planDistribution(request), request);
  }
}

function validateByModelId(payload: unknown): ValidationResult<DistributionsUsingModelQuery> {
  const modelId = (payload as { modelId?: unknown } | null)?.modelId;
  return typeof modelId === 'string' && modelId.length > 0 && modelId.length <= 200
    ? { ok: true, value: { modelId } }
    : { ok: false, reason: 'modelId must be a non-empty string of at most 200 characters' };
}

const validatePage = validateWith(DistributionDevicesPageDto);

/** `{ id, devicesOffset?, devicesLimit? }`. */
async function validateStatusQuery(payload: unknown): Promise<ValidationResult<DistributionStatusQuery>> {
  const byId = validateById(payload);
  if (!byId.ok) return byId;
  const { id: _id, ...rest } = payload as Record<string, unknown>;
  const page = await validatePage(rest);
  return page.ok ? { ok: true, value: { ...page.value, id: byId.value.id } } : page;
}

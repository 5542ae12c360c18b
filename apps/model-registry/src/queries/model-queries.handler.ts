import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  ListModelsQueryDto, Queries, queueGroup, Services, type ByIdQuery, type ListModelsQuery,
} from '@hotswap/contracts';
import { SERVICE_RUNTIME, validateWith, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { ModelsReadModel } from '../projections/models/models.read-model.js';

class NotFound extends Error {
  readonly code = 'NOT_FOUND';
}

/** Queries of the model registry: get, list, the internal artifact lookup and health. */
@Injectable()
export class ModelQueriesHandler implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly models: ModelsReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.modelRegistry);
    const { bus } = this.runtime;
    this.subscriptions = await Promise.all([
      bus.handle(Queries.getModel, {
        queue, validate: validateById,
        handler: async ({ id }) => (await this.models.get(id)) ?? notFound(id),
      }),
      bus.handle(Queries.getModelArtifact, {
        queue, validate: validateById,
        handler: async ({ id }) => (await this.models.artifact(id)) ?? notFound(id),
      }),
      bus.handle(Queries.listModels, {
        queue, validate: validateWith(ListModelsQueryDto) as (p: unknown) => Promise<ValidationResult<ListModelsQuery>>,
        handler: (query) => this.models.list(query),
      }),
      bus.handle(Queries.health(Services.modelRegistry), { queue, validate: anything, handler: () => ({ status: 'ok' }) }),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
  }
}

function notFound(id: string): never {
  throw new NotFound(`model ${id} not found`);
}

export function validateById(payload: unknown): ValidationResult<ByIdQuery> {
  const id = (payload as Partial<ByIdQuery> | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 200
    ? { ok: true, value: { id } }
    : { ok: false, reason: 'id must be a non-empty string' };
}

const anything = (payload: unknown): ValidationResult<unknown> => ({ ok: true, value: payload });

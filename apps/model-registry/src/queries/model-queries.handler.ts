import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  ListModelsQueryDto, Queries, queueGroup, Services, type ListModelsQuery,
} from '@hotswap/contracts';
import { NotFoundError } from '@hotswap/domain';
import {
  closeAll, SERVICE_RUNTIME, serveHealth, validateById, validateWith, type BusSubscription, type ServiceRuntime, type ValidationResult,
} from '@hotswap/infrastructure';
import { ModelsReadModel } from '../projections/models/models.read-model.js';

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
      serveHealth(bus, Queries.health(Services.modelRegistry), queue),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

function notFound(id: string): never {
  throw new NotFoundError(`model ${id} not found`);
}

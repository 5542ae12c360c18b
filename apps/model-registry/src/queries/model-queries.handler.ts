import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  invalidIdReason, ListModelsQueryDto, Queries, queueGroup, Services, type ListModelsQuery, type ListModelVersionsQuery,
  type ModelVersionQuery,
} from '@hotswap/contracts';
import { isValidSemver, NotFoundError } from '@hotswap/domain';
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
      bus.handle(Queries.listModelVersions, {
        queue, validate: validateModelName,
        handler: async ({ name }) => {
          const versions = await this.models.versions(name);
          if (versions.total === 0) throw new NotFoundError(`model ${name} has no versions`);
          return versions;
        },
      }),
      bus.handle(Queries.getModelVersion, {
        queue, validate: validateModelVersion,
        handler: async ({ name, version }) =>
          (await this.models.version(name, version)) ?? versionNotFound(name, version),
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

function versionNotFound(name: string, version: string): never {
  throw new NotFoundError(`model ${name} has no version ${version}`);
}

function validateModelName(payload: unknown): ValidationResult<ListModelVersionsQuery> {
  const name = (payload as { name?: unknown } | null)?.name;
  const problem = invalidIdReason('model name', name);
  return problem ? { ok: false, reason: problem } : { ok: true, value: { name: name as string } };
}

function validateModelVersion(payload: unknown): ValidationResult<ModelVersionQuery> {
  const named = validateModelName(payload);
  if (!named.ok) return named;
  const version = (payload as { version?: unknown }).version;
  return isValidSemver(version)
    ? { ok: true, value: { name: named.value.name, version } }
    : { ok: false, reason: `version must be a semantic version, got ${JSON.stringify(version)}` };
}

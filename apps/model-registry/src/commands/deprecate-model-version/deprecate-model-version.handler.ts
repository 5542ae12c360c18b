import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Commands, queueGroup, Services, type DeprecateModelVersionCommand, type ModelView } from '@hotswap/contracts';
import { SERVICE_RUNTIME, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';
import { ModelsReadModel } from '../../projections/models/models.read-model.js';
import { idOf, runModelCommand, validateVersionCommand } from '../model-version-command.js';

/**
 * `DeprecateModel`: the version stays listed (status `Deprecated`) but the distributor refuses it
 * as the target of a new distribution, and so does a rollback.
 */
@Injectable()
export class DeprecateModelVersionHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly models: ModelsReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.deprecateModelVersion, {
      queue: queueGroup(Services.modelRegistry),
      validate: validateVersionCommand<DeprecateModelVersionCommand>((p) =>
        p['reason'] === undefined || typeof p['reason'] === 'string' ? [] : ['reason must be a string']),
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  async execute(command: DeprecateModelVersionCommand, traceparent?: string): Promise<ModelView> {
    const id = idOf(command);
    const result = await runModelCommand(this.runtime, id, {
      type: 'DeprecateModel', data: { modelId: id, ...(command.reason !== undefined ? { reason: command.reason } : {}) },
    }, command.actor, traceparent);
    if (result.position !== undefined) await this.models.waitFor(result.position);
    const view = await this.models.get(id);
    if (!view) throw new Error(`model ${id} was deprecated but is not in the read model`);
    return view;
  }
}

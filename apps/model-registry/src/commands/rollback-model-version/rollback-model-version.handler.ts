import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, Queries, queueGroup, Services,
  type CreateDistributionCommand, type CreatedReply, type DeviceView, type ListDevicesQuery, type ModelVersionCommand, type Page,
} from '@hotswap/contracts';
import { IllegalStateError, InvalidCommandError, rollbackTargetRefusal, versionOfModelId } from '@hotswap/domain';
import { SERVICE_RUNTIME, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';
import { ModelsReadModel } from '../../projections/models/models.read-model.js';
import { idOf, modelState, PEER_TIMEOUT_MS, validateVersionCommand } from '../model-version-command.js';

/** The device registry's largest page. */
const DEVICE_PAGE = 500;

/**
 * Rollback to a version: a `Direct` distribution of it to every device now running another version
 * of the same model name. The distributor applies its own rules on top (validation required,
 * deprecated refused), so a 409 from it reaches the caller unchanged.
 */
@Injectable()
export class RollbackModelVersionHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly models: ModelsReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.rollbackModelVersion, {
      queue: queueGroup(Services.modelRegistry),
      validate: validateVersionCommand<ModelVersionCommand>(),
      handler: (command) => this.execute(command),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  async execute(command: ModelVersionCommand): Promise<CreatedReply> {
    const id = idOf(command);
    const refusal = rollbackTargetRefusal(await modelState(this.runtime, id), id);
    if (refusal) throw refusal;
    const running = await this.devicesRunning(command.name);
    if (running.length === 0) {
      throw new InvalidCommandError(`no device runs a version of model ${command.name}, so there is nothing to roll back`);
    }
    const targets = running.filter((d) => d.currentModelId !== id).map((d) => d.id);
    if (targets.length === 0) {
      throw new IllegalStateError(`every device running model ${command.name} (${running.length}) already runs ${id}`);
    }
    return this.runtime.bus.request<CreateDistributionCommand, CreatedReply>(
      Commands.createDistribution,
      { actor: command.actor, modelId: id, strategy: 'Direct', targetDevices: targets, rollback: true },
      { timeoutMs: 2 * PEER_TIMEOUT_MS },
    );
  }

  /**
   * The devices whose current model is a version of `name`. Read from the whole fleet rather than
   * per registered version, so a device running a version the registry no longer lists counts too;
   * an id registered under another name (`a-1.0.0-1.0.0` may be `a-1.0.0` 1.0.0 or `a` 1.0.0-1.0.0)
   * does not.
   */
  private async devicesRunning(name: string): Promise<DeviceView[]> {
    const matching: DeviceView[] = [];
    for (let offset = 0; ; offset += DEVICE_PAGE) {
      const page = await this.runtime.bus.request<ListDevicesQuery, Page<DeviceView>>(
        Queries.listDevices, { limit: DEVICE_PAGE, offset }, { timeoutMs: PEER_TIMEOUT_MS },
      );
      matching.push(...page.items.filter((d) => versionOfModelId(name, d.currentModelId) !== undefined));
      if (page.items.length < DEVICE_PAGE || offset + DEVICE_PAGE >= page.total) break;
    }
    const foreign = await this.models.idsOfOtherNames([...new Set(matching.map((d) => d.currentModelId as string))], name);
    return matching.filter((d) => !foreign.has(d.currentModelId as string));
  }
}

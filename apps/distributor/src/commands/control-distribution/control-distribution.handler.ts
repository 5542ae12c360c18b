import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, DISTRIBUTION_VERBS, queueGroup, Services, type ControlDistributionCommand, type DistributionStatusView,
} from '@hotswap/contracts';
import { NotFoundError } from '@hotswap/domain';
import { closeAll, SERVICE_RUNTIME, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { Conductor } from '../../conductor/conductor.js';
import { DistributionCommands } from '../../distribution-commands.js';
import { toStatusView } from '../../queries/status-view.js';

/** The operator verbs: pause, resume, approve, cancel, rollback, promote. Replies with the status after it. */
@Injectable()
export class ControlDistributionHandler implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly distributions: DistributionCommands,
    private readonly conductor: Conductor,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscriptions = [await this.runtime.bus.handle(Commands.controlDistribution, {
      queue: queueGroup(Services.distributor),
      validate: validateControl,
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    })];
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }

  async execute(command: ControlDistributionCommand, traceparent?: string): Promise<DistributionStatusView> {
    await this.distributions.run('ControlDistribution', {
      distributionId: command.id, verb: command.verb, by: command.actor, ...(command.reason !== undefined ? { reason: command.reason } : {}),
    }, command.actor, traceparent);
    // Act on the decision now (a rollback commands the devices at once) rather than at the next tick.
    await this.conductor.finishIfDone(command.id);
    void this.conductor.tick();
    const state = await this.distributions.state(command.id);
    if (state.status === 'Empty') throw new NotFoundError(`distribution ${command.id} not found`);
    return toStatusView(state);
  }
}

function validateControl(payload: unknown): ValidationResult<ControlDistributionCommand> {
  const { id, verb, actor, reason } = (payload ?? {}) as Record<string, unknown>;
  if (typeof id !== 'string' || id === '' || id.length > 200) return { ok: false, reason: 'id must be a distribution id' };
  if (!DISTRIBUTION_VERBS.includes(verb as never)) return { ok: false, reason: `verb must be one of ${DISTRIBUTION_VERBS.join(', ')}` };
  if (typeof actor !== 'string' || actor === '') return { ok: false, reason: 'actor is required' };
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500)) return { ok: false, reason: 'reason must be a string of at most 500 characters' };
  return { ok: true, value: { id, verb: verb as ControlDistributionCommand['verb'], actor, ...(reason !== undefined ? { reason: reason as string } : {}) } };
}

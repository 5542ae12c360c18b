import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, CreateDistributionDto, queueGroup, Services, Streams, type CreateDistributionCommand, type CreatedReply,
} from '@hotswap/contracts';
import {
  activeTraceparent, recordedTraceparent, SERVICE_RUNTIME, SpanAttributes, Spans, validateWith, withLinkedParent,
  type BusSubscription, type ServiceRuntime, type ValidationResult,
} from '@hotswap/infrastructure';
import { TargetClaims } from '../../claims/target-claims.js';
import { Conductor } from '../../conductor/conductor.js';
import { DistributionCommands } from '../../distribution-commands.js';
import { PlanRequests } from '../../planning/plan-requests.js';
import { DistributionsReadModel } from '../../projections/distributions/distributions.read-model.js';

/**
 * `CreateDistribution`: resolves the models and the targets, claims the targets (a device follows
 * one distribution at a time), records the plan and lets the conductor run it.
 */
@Injectable()
export class CreateDistributionHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly distributions: DistributionCommands,
    private readonly plans: PlanRequests,
    private readonly claims: TargetClaims,
    private readonly readModel: DistributionsReadModel,
    private readonly conductor: Conductor,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.createDistribution, {
      queue: queueGroup(Services.distributor),
      validate: validateCreateDistribution,
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  /**
   * In a `distribution.create` span that continues the rolled-out model's trace (its upload and
   * validation) and links to the request's: one trace then reads upload → validate → distribute →
   * activate, and the `DistributionCreated` event carries it to the conductor.
   */
  async execute(command: CreateDistributionCommand, traceparent?: string): Promise<CreatedReply> {
    const modelId = command.strategy === 'ABTesting' ? command.modelB ?? command.modelId : command.modelId;
    const modelTrace = modelId === undefined || modelId === '' ? undefined
      : await recordedTraceparent(this.runtime.eventStore, Streams.model(modelId), ['ModelValidated', 'ModelRejected', 'ModelUploaded']).catch(() => undefined);
    return withLinkedParent(modelTrace, Spans.distributionCreate, modelId ? { [SpanAttributes.modelId]: modelId } : {}, (span) =>
      this.create(command, (id) => span.setAttribute(SpanAttributes.distributionId, id), activeTraceparent() ?? traceparent));
  }

  private async create(command: CreateDistributionCommand, named: (id: string) => void, traceparent?: string): Promise<CreatedReply> {
    const plan = await this.plans.build(command);
    const distributionId = `dist-${randomUUID()}`;
    named(distributionId);
    await this.claims.claim(distributionId, plan.targets, (holder) => this.distributions.isFinished(holder));
    try {
      const { position } = await this.distributions.run('CreateDistribution', {
        distributionId, plan, rollbackPolicy: command.rollbackPolicy ?? 'Automatic',
        ...(command.targetFilter !== undefined ? { targetFilter: command.targetFilter } : {}),
        ...(command.rollback === true ? { rollback: true } : {}),
        ...(command.transport !== undefined ? { transport: command.transport } : {}),
      }, command.actor, traceparent);
      // The conductor finds it through the read model; waiting for it avoids a first tick that misses it.
      if (position !== undefined) await this.readModel.waitFor(position);
    } catch (error) {
      await this.claims.release(distributionId, plan.targets);
      throw error;
    }
    void this.conductor.tick();
    const state = await this.distributions.state(distributionId);
    return { id: distributionId, status: state.status === 'Empty' ? 'Scheduled' : state.status };
  }
}

export async function validateCreateDistribution(payload: unknown): Promise<ValidationResult<CreateDistributionCommand>> {
  // `actor` and `rollback` are internal fields the REST DTO does not know.
  const { actor, rollback, ...rest } = (payload ?? {}) as { actor?: unknown; rollback?: unknown };
  if (typeof actor !== 'string' || actor === '') return { ok: false, reason: 'actor is required' };
  if (rollback !== undefined && typeof rollback !== 'boolean') return { ok: false, reason: 'rollback must be a boolean' };
  const checked = await validateWith(CreateDistributionDto)(rest);
  return checked.ok ? { ok: true, value: { ...(checked.value as CreateDistributionDto), actor, ...(rollback ? { rollback } : {}) } } : checked;
}

import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, CreateDistributionDto, Queries, queueGroup, Services,
  type CreateDistributionCommand, type CreatedReply, type DeviceView, type ModelView, type Page, type ValidationReportView,
} from '@hotswap/contracts';
import { describeFailedChecks, planDirect } from '@hotswap/domain';
import {
  SERVICE_RUNTIME, RemoteError, validateWith, type BusSubscription, type ServiceRuntime, type ValidationResult,
} from '@hotswap/infrastructure';
import { DistributionCommands } from '../../distribution-commands.js';
import { DISTRIBUTOR_OPTIONS, type DistributorOptions } from '../../distributor.options.js';

class CodedError extends Error {
  constructor(readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

/**
 * `CreateDistribution`: resolves the model and the targets, records the distribution and starts
 * it. The devices are commanded by the dispatcher, which reacts to `TargetUpdateRequested`.
 */
@Injectable()
export class CreateDistributionHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly distributions: DistributionCommands,
    @Inject(DISTRIBUTOR_OPTIONS) private readonly options: DistributorOptions,
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

  async execute(command: CreateDistributionCommand, traceparent?: string): Promise<CreatedReply> {
    const model = await this.model(command.modelId);
    // Deprecated is refused whether or not validation is required.
    if (model.status === 'Deprecated') {
      throw new CodedError(
        'CONFLICT',
        `model ${model.id} is Deprecated${model.deprecatedAt ? ` (since ${model.deprecatedAt})` : ''} and cannot be the target of a new distribution`,
        { status: model.status },
      );
    }
    if (this.options.requireValidation && model.status !== 'Validated') await this.refuseUnvalidated(model);
    const targets = await this.resolveTargets(command);
    const distributionId = `dist-${randomUUID()}`;
    await this.distributions.run('CreateDistribution', {
      distributionId, modelId: command.modelId, strategy: command.strategy, targets: targets.map((d) => d.id),
      successCriteria: command.successCriteria ?? {}, rollbackPolicy: command.rollbackPolicy ?? 'Automatic',
      ...(command.rollback === true ? { rollback: true } : {}),
    }, command.actor, traceparent);
    const plan = planDirect({
      modelId: command.modelId,
      targets: targets.map((d) => d.id),
      fleet: Object.fromEntries(targets.map((d) => [d.id, { status: d.status, ...(d.currentModelId ? { currentModelId: d.currentModelId } : {}) }])),
    });
    const commandIds = Object.fromEntries(plan.waves.flat().map((deviceId) => [deviceId, `cmd-${randomUUID()}`]));
    await this.distributions.run('StartDistribution', { distributionId, commandIds }, command.actor, traceparent);
    return { id: distributionId, status: 'Running' };
  }

  private async model(modelId: string): Promise<ModelView> {
    try {
      return await this.runtime.bus.request<{ id: string }, ModelView>(Queries.getModel, { id: modelId }, { timeoutMs: 5_000 });
    } catch (error) {
      if (error instanceof RemoteError && error.code === 'NOT_FOUND') throw new CodedError('NOT_FOUND', `model ${modelId} not found`);
      throw error;
    }
  }

  /** CONFLICT: a rejected model names its failing checks; any other status says what is awaited. */
  private async refuseUnvalidated(model: ModelView): Promise<never> {
    if (model.status !== 'Rejected') {
      throw new CodedError('CONFLICT', `model ${model.id} is ${model.status}, not Validated; only validated models can be distributed`, { status: model.status });
    }
    const report = await this.runtime.bus
      .request<{ id: string }, ValidationReportView>(Queries.getValidationReport, { id: model.id }, { timeoutMs: 5_000 })
      .catch(() => undefined);
    const failedChecks = report?.checks.filter((c) => !c.passed) ?? [];
    throw new CodedError(
      'CONFLICT',
      `model ${model.id} failed validation and cannot be distributed${failedChecks.length ? `; failing checks: ${describeFailedChecks(failedChecks)}` : ''}`,
      { status: model.status, failedChecks },
    );
  }

  private async resolveTargets(command: CreateDistributionCommand): Promise<DeviceView[]> {
    const ids = command.targetDevices ? [...new Set(command.targetDevices)] : undefined;
    if (!ids && !command.targetFilter) throw new CodedError('BAD_REQUEST', 'targetDevices or targetFilter is required');
    const page = await this.runtime.bus.request<object, Page<DeviceView>>(Queries.listDevices, {
      ...(command.targetFilter ?? {}), ...(ids ? { ids } : {}), limit: 500,
    }, { timeoutMs: 5_000 });
    if (ids) {
      const known = new Set(page.items.map((d) => d.id));
      const unknown = ids.filter((id) => !known.has(id));
      if (unknown.length) throw new CodedError('NOT_FOUND', `unknown device${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, { unknownDevices: unknown });
    }
    if (page.items.length === 0) throw new CodedError('BAD_REQUEST', 'targetFilter matches no device');
    return page.items;
  }
}

async function validateCreateDistribution(payload: unknown): Promise<ValidationResult<CreateDistributionCommand>> {
  // `actor` and `rollback` are internal fields the REST DTO does not know.
  const { actor, rollback, ...rest } = (payload ?? {}) as { actor?: unknown; rollback?: unknown };
  if (typeof actor !== 'string' || actor === '') return { ok: false, reason: 'actor is required' };
  if (rollback !== undefined && typeof rollback !== 'boolean') return { ok: false, reason: 'rollback must be a boolean' };
  const checked = await validateWith(CreateDistributionDto)(rest);
  return checked.ok ? { ok: true, value: { ...(checked.value as CreateDistributionDto), actor, ...(rollback ? { rollback } : {}) } } : checked;
}

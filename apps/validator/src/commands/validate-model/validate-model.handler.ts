import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, queueGroup, Services, ValidateModelDto, type ValidateModelCommand, type ValidationStartedReply,
} from '@hotswap/contracts';
import { NotFoundError } from '@hotswap/domain';
import { SERVICE_RUNTIME, validateWith, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { ModelCommands } from '../../pipeline/model-commands.js';
import { ValidationDevices } from '../../pipeline/validation-devices.js';
import { ranOnOf, ValidationWorker } from '../../pipeline/validation-worker.js';
import { Datasets } from '../../projections/datasets/datasets.read-model.js';
import { ValidationReports } from '../../projections/validation-reports/validation-reports.read-model.js';

/**
 * `ValidateModel`: starts a (re-)validation run and answers once it is recorded; the steps run in
 * the background. An unknown model is NOT_FOUND, a model being validated CONFLICT, unless its run
 * is older than `staleRunMs` and not this validator's: that run is abandoned first.
 */
@Injectable()
export class ValidateModelHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly models: ModelCommands,
    private readonly worker: ValidationWorker,
    private readonly reports: ValidationReports,
    private readonly datasets: Datasets,
    private readonly devices: ValidationDevices,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.validateModel, {
      queue: queueGroup(Services.validator),
      validate: validateValidateModel,
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  async execute(command: ValidateModelCommand, traceparent?: string): Promise<ValidationStartedReply> {
    if (command.datasetId !== undefined && !(await this.datasets.registered(command.datasetId))) {
      throw new NotFoundError(`dataset ${command.datasetId} not found`);
    }
    // A run nobody will finish would otherwise answer 409 forever.
    await this.worker.abandonIfStale(await this.models.state(command.modelId));
    const validationId = `val-${randomUUID()}`;
    const target = await this.devices.resolve(command.onDevice);
    const started = await this.models.run('StartValidation', {
      modelId: command.modelId, validationId, trigger: 'request', ...(command.thresholds ? { thresholds: command.thresholds } : {}),
      ...(command.datasetId !== undefined ? { datasetId: command.datasetId } : {}),
      defaultThresholds: this.worker.defaultThresholds, ranOn: ranOnOf(target),
    }, command.actor, traceparent);
    // The report shows this run as Running before the reply, so a client polling it never sees the previous one.
    if (started.position !== undefined) await this.reports.waitFor(started.position);
    this.worker.runStarted(command.modelId, validationId, target);
    return { id: command.modelId, status: 'Validating', validationId };
  }
}

async function validateValidateModel(payload: unknown): Promise<ValidationResult<ValidateModelCommand>> {
  const { actor, modelId, ...rest } = (payload ?? {}) as { actor?: unknown; modelId?: unknown };
  const problems: string[] = [];
  if (typeof actor !== 'string' || actor === '') problems.push('actor is required');
  if (typeof modelId !== 'string' || modelId === '' || modelId.length > 200) problems.push('modelId must be a non-empty string of at most 200 characters');
  const checked = await validateWith(ValidateModelDto)(rest);
  if (!checked.ok) problems.push(checked.reason);
  if (problems.length > 0 || !checked.ok) return { ok: false, reason: problems.join('; ') };
  const { thresholds, datasetId, onDevice } = checked.value;
  return {
    ok: true,
    value: {
      actor: actor as string, modelId: modelId as string,
      ...(thresholds ? { thresholds: { ...thresholds } } : {}), ...(datasetId !== undefined ? { datasetId } : {}),
      ...(onDevice !== undefined ? { onDevice } : {}),
    },
  };
}

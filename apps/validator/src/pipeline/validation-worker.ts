import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { VALIDATOR_OPTIONS, type ResolvedValidatorOptions } from '../validator.options.js';
import { ModelCommands } from './model-commands.js';
import { ValidationPipeline, VALIDATOR_RAN_ON } from './validation-pipeline.js';
import { DEFAULT_VALIDATION_THRESHOLDS } from '@hotswap/domain';

/**
 * Runs validations one at a time, so a benchmark never competes with another for the CPU and
 * its latency and memory figures stay the model's own.
 */
@Injectable()
export class ValidationWorker implements OnModuleDestroy {
  private tail: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(VALIDATOR_OPTIONS) private readonly options: ResolvedValidatorOptions,
    private readonly models: ModelCommands,
    private readonly pipeline: ValidationPipeline,
  ) {}

  /** The configured defaults of the quality gate. */
  get defaultThresholds() {
    return { ...DEFAULT_VALIDATION_THRESHOLDS, ...this.options.thresholds };
  }

  /**
   * Validates a freshly uploaded model. Safe to call more than once (replays, restarts): the
   * `upload` trigger starts a run only while the model is still `Uploaded`.
   */
  validateUpload(modelId: string): void {
    this.enqueue(modelId, async () => {
      const validationId = `val-${randomUUID()}`;
      const started = await this.models.run('StartValidation', {
        modelId, validationId, trigger: 'upload', defaultThresholds: this.defaultThresholds, ranOn: VALIDATOR_RAN_ON,
      });
      if (started.events.length > 0) await this.pipeline.run(modelId, validationId);
    });
  }

  /** Runs the steps of a run that was started already (an explicit request). */
  runStarted(modelId: string, validationId: string): void {
    this.enqueue(modelId, () => this.pipeline.run(modelId, validationId));
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.tail;
  }

  private enqueue(modelId: string, job: () => Promise<void>): void {
    this.tail = this.tail.then(async () => {
      if (this.stopped) return;
      try {
        await job();
      } catch (error) {
        this.runtime.logger.error('validation failed to run', { modelId, error: String(error) });
      }
    });
  }
}

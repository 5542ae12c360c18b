import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { IllegalStateError, DEFAULT_VALIDATION_THRESHOLDS, type ModelState } from '@hotswap/domain';
import { Streams } from '@hotswap/contracts';
import { recordedTraceparent, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { VALIDATOR_OPTIONS, type ResolvedValidatorOptions } from '../validator.options.js';
import { ModelCommands } from './model-commands.js';
import { ValidationDevices, type ValidationTarget } from './validation-devices.js';
import { ValidationPipeline, VALIDATOR_RAN_ON } from './validation-pipeline.js';

/**
 * Runs validations one at a time, so a benchmark never competes with another for the CPU and
 * its latency and memory figures stay the model's own. It knows the runs it owns (queued or
 * running here), so it can abandon the ones a dead validator left behind.
 */
@Injectable()
export class ValidationWorker implements OnModuleDestroy {
  private tail: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly owned = new Set<string>();
  /** Runs started up to this instant (ms) were started by an earlier validator. */
  private readonly bootedAt: number;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(VALIDATOR_OPTIONS) private readonly options: ResolvedValidatorOptions,
    private readonly models: ModelCommands,
    private readonly pipeline: ValidationPipeline,
    private readonly devices: ValidationDevices,
  ) {
    // Set before any projection replays the run starts it judges by it.
    this.bootedAt = runtime.clock().getTime();
  }

  /** The configured defaults of the quality gate. */
  get defaultThresholds() {
    return { ...DEFAULT_VALIDATION_THRESHOLDS, ...this.options.thresholds };
  }

  /**
   * Validates a freshly uploaded model. Safe to call more than once (replays, restarts): the
   * `upload` trigger starts a run only while the model is still `Uploaded`.
   */
  validateUpload(modelId: string): void {
    const validationId = `val-${randomUUID()}`;
    this.owned.add(validationId);
    this.enqueue(modelId, validationId, async () => {
      if ((await this.models.state(modelId)).status !== 'Uploaded') return;
      const target = await this.devices.resolve(undefined);
      // The run continues the upload's trace (its `model.upload` span).
      const uploaded = await recordedTraceparent(this.runtime.eventStore, Streams.model(modelId), ['ModelUploaded']);
      const started = await this.models.run('StartValidation', {
        modelId, validationId, trigger: 'upload', defaultThresholds: this.defaultThresholds, ranOn: ranOnOf(target),
      }, undefined, uploaded);
      if (started.events.length > 0) await this.pipeline.run(modelId, validationId, () => this.stopped, target);
    });
  }

  /** Runs the steps of a run that was started already (an explicit request) on `target`. */
  runStarted(modelId: string, validationId: string, target: ValidationTarget = { kind: 'validator' }): void {
    this.owned.add(validationId);
    this.enqueue(modelId, validationId, () => this.pipeline.run(modelId, validationId, () => this.stopped, target));
  }

  /**
   * Called for every run start the validator sees (replayed ones included): once the queue gets to
   * it, a run that is still going, is not ours and was started before this validator booted is
   * abandoned, when `abandonRunsOnStart` is on. Runs of a live replica started later are left alone.
   */
  checkStartedRun(modelId: string, validationId: string, startedAt: string): void {
    // A run started at or after this validator booted is this validator's or a live replica's (`>=`: a
    // run started in the boot's own millisecond, e.g. under a test clock, cannot be a dead validator's).
    if (!this.options.abandonRunsOnStart || this.owned.has(validationId) || Date.parse(startedAt) >= this.bootedAt) return;
    this.enqueue(modelId, undefined, async () => {
      const state = await this.models.state(modelId);
      if (state.status !== 'Validating' || state.run.validationId !== validationId || this.owned.has(validationId)) return;
      await this.abandon(modelId, validationId, `the validator restarted at ${new Date(this.bootedAt).toISOString()} while the run (started at ${startedAt}) was going on`);
    });
  }

  /**
   * Before a validate request: a run of `modelId` this validator does not own that has been going on
   * for longer than `staleRunMs` is abandoned, so the request can start a new one. Anything else is
   * left for `StartValidation` to judge (409 while a live run goes on).
   */
  async abandonIfStale(state: ModelState): Promise<void> {
    if (state.status !== 'Validating' || this.owned.has(state.run.validationId)) return;
    const ageMs = this.runtime.clock().getTime() - Date.parse(state.run.startedAt);
    if (ageMs <= this.options.staleRunMs) return;
    await this.abandon(state.modelId, state.run.validationId, `no result ${ageMs} ms after the run started at ${state.run.startedAt} (staleRunMs ${this.options.staleRunMs}); its validator is presumed dead`)
      // Someone else finished or abandoned it meanwhile; StartValidation judges what is left.
      .catch((error: unknown) => { if (!(error instanceof IllegalStateError)) throw error; });
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.tail;
  }

  private async abandon(modelId: string, validationId: string, reason: string): Promise<void> {
    await this.models.run('AbandonValidation', { modelId, validationId, reason });
    this.runtime.logger.warn('validation run abandoned', { modelId, validationId, reason });
  }

  private enqueue(modelId: string, validationId: string | undefined, job: () => Promise<void>): void {
    this.tail = this.tail.then(async () => {
      try {
        // Stopping leaves the runs not yet started as they are: the next validator abandons them.
        if (!this.stopped) await job();
      } catch (error) {
        this.runtime.logger.error('validation failed to run', { modelId, error: String(error) });
      } finally {
        if (validationId !== undefined) this.owned.delete(validationId);
      }
    });
  }
}

/** The `ranOn` a run records: the validator, the device, or what was asked for when none was found. */
export function ranOnOf(target: ValidationTarget): string {
  return target.kind === 'validator' ? VALIDATOR_RAN_ON : target.kind === 'device' ? target.deviceId : target.ranOn;
}

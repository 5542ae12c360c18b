import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import * as ort from 'onnxruntime-node';
import { VALIDATION_STEPS, type ValidationStep, type ValidationStepResult } from '@hotswap/contracts';
import { RUNNABLE_FRAMEWORKS, type ModelDetails } from '@hotswap/domain';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { VALIDATOR_OPTIONS, type ResolvedValidatorOptions } from '../validator.options.js';
import { copyAndHash, formatMatches } from './artifact-check.js';
import { ModelCommands } from './model-commands.js';
import { benchmark, generateFeeds, toMb } from './onnx-benchmark.js';

/** `ranOn` of runs the validator performs itself. */
export const VALIDATOR_RAN_ON = 'validator';

/**
 * The steps of one validation run, each recorded as `ModelValidationStepRecorded` as soon as it
 * ends: artifact check → load test → benchmark → accuracy; then `CompleteValidation` applies the
 * quality gate. A step that fails skips the steps that depend on it, each skip saying why.
 */
@Injectable()
export class ValidationPipeline {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(VALIDATOR_OPTIONS) private readonly options: ResolvedValidatorOptions,
    private readonly models: ModelCommands,
  ) {}

  async run(modelId: string, validationId: string): Promise<void> {
    const state = await this.models.state(modelId);
    if (state.status !== 'Validating' || state.run.validationId !== validationId) return;
    const record = (result: ValidationStepResult) => this.models.run('RecordValidationStep', { modelId, validationId, result });
    const skipRest = async (from: ValidationStep, detail: string) => {
      for (const step of VALIDATION_STEPS.slice(VALIDATION_STEPS.indexOf(from))) {
        await record({ step, outcome: 'Skipped', durationMs: 0, detail, measurements: {} });
      }
    };
    const dir = await mkdtemp(join(tmpdir(), 'hotswap-validate-'));
    let session: ort.InferenceSession | undefined;
    try {
      const artifact = await this.checkArtifact(state, join(dir, 'model'));
      await record(artifact);
      if (artifact.outcome !== 'Completed') {
        await skipRest('load', 'not run: the artifact check failed');
      } else if (!RUNNABLE_FRAMEWORKS.includes(state.framework)) {
        await skipRest('load', `not run: no runtime for ${state.framework} in the validator`);
      } else {
        const baselineRss = process.memoryUsage.rss();
        const started = performance.now();
        try {
          session = await ort.InferenceSession.create(join(dir, 'model'));
          const loadMs = round(performance.now() - started);
          await record({ step: 'load', outcome: 'Completed', durationMs: loadMs, measurements: { loadMs, memoryMb: toMb(Math.max(0, process.memoryUsage.rss() - baselineRss)) } });
        } catch (error) {
          await record({ step: 'load', outcome: 'Failed', durationMs: round(performance.now() - started), detail: `onnxruntime could not load the model: ${messageOf(error)}`, measurements: {} });
        }
        if (!session) {
          await skipRest('benchmark', 'not run: the model did not load');
        } else {
          await record(await this.benchmark(session, baselineRss));
          await record({ step: 'accuracy', outcome: 'Skipped', durationMs: 0, detail: 'not run: no dataset attached', measurements: {} });
        }
      }
      await this.models.run('CompleteValidation', { modelId, validationId });
    } finally {
      await session?.release().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Reads the stored bytes as a device would get them: checksum against the upload's, format re-checked. */
  private async checkArtifact(model: ModelDetails, path: string): Promise<ValidationStepResult> {
    const started = performance.now();
    const durationMs = () => round(performance.now() - started);
    try {
      const copied = await copyAndHash(await this.runtime.artifacts.get(model.artifactKey), path);
      const formatOk = formatMatches(model.framework, copied.format);
      const problems = [
        ...(copied.sha256 !== model.sha256 ? [`checksum mismatch: the stored bytes hash to ${copied.sha256}, the upload recorded ${model.sha256}`] : []),
        ...(!formatOk ? [`format mismatch: the bytes look like ${copied.format}, the model is declared ${model.framework}`] : []),
      ];
      return {
        step: 'artifact', outcome: problems.length ? 'Failed' : 'Completed', durationMs: durationMs(),
        ...(problems.length ? { detail: problems.join('; ') } : {}),
        measurements: { sha256: copied.sha256, format: formatOk ? model.framework : copied.format },
      };
    } catch (error) {
      return { step: 'artifact', outcome: 'Failed', durationMs: durationMs(), detail: `artifact ${model.artifactKey} could not be read: ${messageOf(error)}`, measurements: {} };
    }
  }

  private async benchmark(session: ort.InferenceSession, baselineRss: number): Promise<ValidationStepResult> {
    const started = performance.now();
    try {
      const result = await benchmark(session, generateFeeds(session), {
        inferences: this.options.benchmarkInferences, warmup: this.options.warmupInferences, baselineRss,
      });
      const { firstError, ...measurements } = result;
      return {
        step: 'benchmark', outcome: 'Completed', durationMs: round(performance.now() - started),
        ...(firstError !== undefined ? { detail: `${Math.round(result.errorRate * result.inferences)} inferences failed, the first with: ${firstError}` } : {}),
        measurements,
      };
    } catch (error) {
      return { step: 'benchmark', outcome: 'Failed', durationMs: round(performance.now() - started), detail: messageOf(error), measurements: {} };
    }
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

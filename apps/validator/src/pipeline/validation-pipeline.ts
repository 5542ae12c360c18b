import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import * as ort from 'onnxruntime-node';
import { VALIDATION_STEPS, type DeviceValidationReply, type ValidationStep, type ValidationStepResult } from '@hotswap/contracts';
import { RUNNABLE_FRAMEWORKS, scoreAccuracy, type Dataset, type ModelDetails, type ModelState } from '@hotswap/domain';
import { Streams } from '@hotswap/contracts';
import { modelAttributes, recordedTraceparent, SERVICE_RUNTIME, Spans, withRemoteParent, type ServiceRuntime } from '@hotswap/infrastructure';
import { loadDataset } from '../datasets/dataset-files.js';
import { Datasets } from '../projections/datasets/datasets.read-model.js';
import { ModelVersions } from '../projections/model-versions/model-versions.read-model.js';
import { VALIDATOR_OPTIONS, type ResolvedValidatorOptions } from '../validator.options.js';
import { incompatibility, predict } from './accuracy-test.js';
import { copyAndHash, formatMatches } from './artifact-check.js';
import { ModelCommands } from './model-commands.js';
import { ValidationDevices, type ValidationTarget } from './validation-devices.js';
import { benchmark, BenchmarkStoppedError, generateFeeds, toMb } from './onnx-benchmark.js';

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
    private readonly datasets: Datasets,
    private readonly versions: ModelVersions,
    private readonly devices: ValidationDevices,
  ) {}

  /**
   * `stopping` is asked after each step: when it says so (the validator is shutting down) the run
   * ends there, left `Validating` for the next validator to abandon, so shutdown never waits for a
   * whole benchmark queue.
   */
  async run(
    modelId: string, validationId: string, stopping: () => boolean = () => false, target: ValidationTarget = { kind: 'validator' },
  ): Promise<void> {
    const state = await this.models.state(modelId);
    if (state.status !== 'Validating' || state.run.validationId !== validationId) return;
    // A `model.validate` span continuing the trace that started the run (the upload, or the validate request).
    const started = performance.now();
    const parent = await recordedTraceparent(this.runtime.eventStore, Streams.model(modelId), ['ModelValidationStarted']);
    await withRemoteParent(parent, Spans.modelValidate, modelAttributes({ id: modelId, version: state.version, checksum: state.sha256 }),
      () => this.steps(state, validationId, stopping, target));
    this.runtime.metrics?.histograms.modelValidationDuration.record(performance.now() - started);
  }

  private async steps(
    state: Extract<ModelState, { status: 'Validating' }>, validationId: string,
    stopping: () => boolean, target: ValidationTarget,
  ): Promise<void> {
    const { modelId } = state;
    const record = async (result: ValidationStepResult) => {
      await this.models.run('RecordValidationStep', { modelId, validationId, result });
      if (stopping()) throw new RunStopped();
    };
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
      } else if (target.kind === 'unavailable') {
        // Never passed unmeasured: the failed load fails the gate, its detail says why.
        await record({ step: 'load', outcome: 'Failed', durationMs: 0, detail: `not run: ${target.reason}`, measurements: {} });
        await skipRest('benchmark', 'not run: no validation device');
      } else if (target.kind === 'device') {
        await this.onDevice(state, validationId, target.deviceId, record, skipRest, dir);
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
          await record(await this.benchmark(session, baselineRss, stopping));
          await record(await this.accuracy(state, session, state.run.datasetId, dir));
        }
      }
      await this.models.run('CompleteValidation', { modelId, validationId });
    } catch (error) {
      if (!(error instanceof RunStopped)) throw error;
      this.runtime.logger.info('validation run stopped mid-way by shutdown', { modelId, validationId });
    } finally {
      await session?.release().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Load test and benchmark on `deviceId`, each step recording `ranOn`; the accuracy step, when a
   * dataset is attached, runs here in the validator (the dataset stays in the control plane).
   */
  private async onDevice(
    model: ModelDetails & { run: { datasetId?: string } }, validationId: string, deviceId: string,
    record: (result: ValidationStepResult) => Promise<void>, skipRest: (from: ValidationStep, detail: string) => Promise<void>, dir: string,
  ): Promise<void> {
    const started = performance.now();
    let reply: DeviceValidationReply;
    try {
      reply = await this.devices.run(deviceId, model, validationId);
    } catch (error) {
      await record({ step: 'load', outcome: 'Failed', durationMs: round(performance.now() - started), detail: `device ${deviceId} did not answer: ${messageOf(error)}`, measurements: { ranOn: deviceId } });
      return skipRest('benchmark', `not run: device ${deviceId} did not answer`);
    }
    if (!reply.ok) {
      await record({ step: 'load', outcome: 'Failed', durationMs: round(performance.now() - started), detail: `device ${deviceId}: ${reply.reason ?? 'no reason given'}`, measurements: { ranOn: deviceId } });
      return skipRest('benchmark', `not run: the model did not load on device ${deviceId}`);
    }
    await record({ step: 'load', outcome: 'Completed', durationMs: reply.loadMs ?? 0, measurements: { loadMs: reply.loadMs, memoryMb: reply.memoryMb, ranOn: deviceId } });
    await record({
      step: 'benchmark', outcome: 'Completed', durationMs: round(performance.now() - started),
      ...(reply.firstError !== undefined ? { detail: `on device ${deviceId}, ${Math.round((reply.errorRate ?? 0) * (reply.inferences ?? 0))} inferences failed, the first with: ${reply.firstError}` } : {}),
      measurements: {
        inferences: reply.inferences, latencyMs: reply.latencyMs, throughputPerSec: reply.throughputPerSec, errorRate: reply.errorRate,
        memoryMb: reply.memoryMb, ranOn: deviceId,
      },
    });
    if (model.run.datasetId === undefined) {
      await record({ step: 'accuracy', outcome: 'Skipped', durationMs: 0, detail: 'not run: no dataset attached', measurements: {} });
      return;
    }
    let session: ort.InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(join(dir, 'model'));
      await record(await this.accuracy(model, session, model.run.datasetId, dir));
    } catch (error) {
      if (error instanceof RunStopped) throw error;
      await record({ step: 'accuracy', outcome: 'Failed', durationMs: 0, detail: `the validator could not load the model to score the dataset: ${messageOf(error)}`, measurements: { datasetId: model.run.datasetId } });
    } finally {
      await session?.release().catch(() => undefined);
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

  /**
   * Runs the dataset through the model and, when there is one, through the baseline (the latest
   * Validated version of the same name, by semver, other than this one) for the gate's ratio.
   */
  private async accuracy(model: ModelDetails, session: ort.InferenceSession, datasetId: string | undefined, dir: string): Promise<ValidationStepResult> {
    if (datasetId === undefined) return { step: 'accuracy', outcome: 'Skipped', durationMs: 0, detail: 'not run: no dataset attached', measurements: {} };
    const started = performance.now();
    const failed = (detail: string): ValidationStepResult => ({
      step: 'accuracy', outcome: 'Failed', durationMs: round(performance.now() - started), detail, measurements: { datasetId },
    });
    const registered = await this.datasets.registered(datasetId);
    if (!registered) return failed(`dataset ${datasetId} not found`);
    let dataset: Dataset;
    try {
      dataset = await loadDataset(this.runtime.artifacts, registered);
    } catch (error) {
      return failed(`dataset ${datasetId} could not be read: ${messageOf(error)}`);
    }
    const problem = incompatibility(session, dataset, registered.output);
    if (problem !== undefined) return failed(`dataset ${datasetId} does not fit the model: ${problem}`);
    const predictions = await predict(session, dataset, registered.output);
    const score = scoreAccuracy(dataset, predictions.outputs);
    const baseline = await this.baselineAccuracy(model, dataset, registered.output, dir);
    const rule = dataset.task === 'regression' ? `regression within ${dataset.tolerance}` : 'classification by argmax';
    const details = [
      `dataset ${datasetId} (${dataset.samples} samples, ${rule}): accuracy ${score.accuracy}`,
      ...(predictions.failures > 0 ? [`${predictions.failures} inferences failed and count as wrong, the first with: ${predictions.firstError}`] : []),
      'baseline' in baseline
        ? `baseline ${baseline.baseline} (latest Validated version of ${model.name}): accuracy ${baseline.accuracy}`
        : `no baseline: ${baseline.reason}; accuracy recorded, minAccuracyRatio not checked`,
    ];
    return {
      step: 'accuracy', outcome: 'Completed', durationMs: round(performance.now() - started), detail: details.join('; '),
      measurements: {
        datasetId, samples: dataset.samples, ...score,
        ...('baseline' in baseline ? { baselineAccuracy: baseline.accuracy, baselineModelId: baseline.baseline } : {}),
      },
    };
  }

  private async baselineAccuracy(
    model: ModelDetails, dataset: Dataset, output: string | undefined, dir: string,
  ): Promise<{ baseline: string; accuracy: number } | { reason: string }> {
    for (const candidate of await this.versions.validatedVersions(model.name, model.modelId)) {
      // The read model may lag or miss a later deprecation or deletion; the stream decides.
      const state = await this.models.state(candidate);
      if (state.status !== 'Validated' || state.framework !== 'onnx') continue;
      let session: ort.InferenceSession | undefined;
      try {
        const path = join(dir, 'baseline');
        const copied = await copyAndHash(await this.runtime.artifacts.get(state.artifactKey), path);
        if (copied.sha256 !== state.sha256) return { reason: `the baseline ${candidate}'s stored bytes no longer match its checksum` };
        session = await ort.InferenceSession.create(path);
        const problem = incompatibility(session, dataset, output);
        if (problem !== undefined) return { reason: `the baseline ${candidate} cannot run the dataset: ${problem}` };
        const { accuracy } = scoreAccuracy(dataset, (await predict(session, dataset, output)).outputs);
        return { baseline: candidate, accuracy };
      } catch (error) {
        return { reason: `the baseline ${candidate} could not be run: ${messageOf(error)}` };
      } finally {
        await session?.release().catch(() => undefined);
      }
    }
    return { reason: `no other Validated version of ${model.name}` };
  }

  private async benchmark(session: ort.InferenceSession, baselineRss: number, stopping: () => boolean): Promise<ValidationStepResult> {
    const started = performance.now();
    try {
      const result = await benchmark(session, generateFeeds(session), {
        inferences: this.options.benchmarkInferences, warmup: this.options.warmupInferences, baselineRss, stopping,
      });
      const { firstError, ...measurements } = result;
      return {
        step: 'benchmark', outcome: 'Completed', durationMs: round(performance.now() - started),
        ...(firstError !== undefined ? { detail: `${Math.round(result.errorRate * result.inferences)} inferences failed, the first with: ${firstError}` } : {}),
        measurements,
      };
    } catch (error) {
      if (error instanceof BenchmarkStoppedError) throw new RunStopped(error.message);
      return { step: 'benchmark', outcome: 'Failed', durationMs: round(performance.now() - started), detail: messageOf(error), measurements: {} };
    }
  }
}

class RunStopped extends Error {}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

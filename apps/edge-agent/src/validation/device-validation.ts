/**
 * "Load model on validation device": the validator asks a device tagged `validation` on
 * `.validate` to load a model and benchmark it. The model is verified and downloaded like a swap,
 * but loaded on a session thread of its own, never in a slot: what the device serves is untouched.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DeviceValidationRequest, type DeviceValidationReply } from '@hotswap/contracts';
import { verifyManifest } from '@hotswap/infrastructure';
import { describeError, type AgentLogger } from '../agent/logger.js';
import { parseJson, validateAs } from '../messages/validation.js';
import { downloadArtifact } from '../swap/artifact-downloader.js';
import { digestMismatch } from '../swap/artifact-verifier.js';
import type { SessionOptions } from '../swap/model-loader.js';
import { zeroFeeds } from '../swap/tensors.js';
import { WorkerSession, type ModelSession } from '../swap/worker-session.js';
import { percentile } from '../telemetry/inference-stats.js';

export interface DeviceValidationDeps {
  readonly deviceId: string;
  /** Scratch directory; each run downloads under `<workDir>/<validationId>` and removes it after. */
  readonly workDir: string;
  readonly manifestPublicKeyPem: string;
  readonly clock: () => Date;
  readonly downloadRetries: number;
  readonly sessionOptions?: SessionOptions;
  /** Aborted when the agent stops. */
  readonly signal: AbortSignal;
  readonly logger: AgentLogger;
}

class ValidationRefused extends Error {}

/** Answers `.validate` requests one at a time, so two benchmarks never share the CPU. */
export class DeviceValidations {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: DeviceValidationDeps) {}

  /** The reply to one request (raw message bytes); never throws. */
  handle(data: Uint8Array): Promise<DeviceValidationReply> {
    const next = this.tail.then(() => this.run(data));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async run(data: Uint8Array): Promise<DeviceValidationReply> {
    const { deviceId } = this.deps;
    const json = parseJson(data);
    const rawId = json.ok ? (json.value as { validationId?: unknown } | null)?.validationId : undefined;
    const validationId = typeof rawId === 'string' ? rawId.slice(0, 100) : '';
    if (!json.ok) return { validationId, deviceId, ok: false, reason: json.reason };
    const parsed = await validateAs(DeviceValidationRequest, json.value, 'validation request');
    if (!parsed.ok) return { validationId, deviceId, ok: false, reason: parsed.reason };
    const request = parsed.value;
    const dir = join(this.deps.workDir, encodeURIComponent(request.validationId));
    let session: ModelSession | undefined;
    try {
      const path = await this.fetch(request, dir);
      const baselineRss = process.memoryUsage.rss();
      let started = performance.now();
      session = await WorkerSession.open(path, this.deps.sessionOptions).catch((err: unknown) => {
        throw new ValidationRefused(`model failed to load: ${describeError(err)}`);
      });
      const loadMs = round(performance.now() - started);
      const feeds = zeroFeeds(session.inputs);
      for (let i = 0; i < request.warmup; i++) await session.run(feeds).catch(() => undefined);
      const latencies: number[] = [];
      let failures = 0;
      let firstError: string | undefined;
      let peakRss = process.memoryUsage.rss();
      started = performance.now();
      for (let i = 0; i < request.inferences; i++) {
        if (this.deps.signal.aborted) throw new ValidationRefused('the agent is stopping');
        const t0 = performance.now();
        try {
          await session.run(feeds);
          latencies.push(performance.now() - t0);
        } catch (err) {
          failures++;
          firstError ??= describeError(err);
        }
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
      }
      const wallMs = performance.now() - started;
      const sorted = latencies.sort((a, b) => a - b);
      return {
        validationId: request.validationId, deviceId, ok: true, loadMs, inferences: request.inferences,
        memoryMb: round(Math.max(0, peakRss - baselineRss) / 1024 ** 2),
        latencyMs: { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)) },
        throughputPerSec: round(latencies.length / (wallMs / 1000)),
        errorRate: failures / request.inferences,
        ...(firstError !== undefined ? { firstError } : {}),
      };
    } catch (err) {
      const reason = err instanceof ValidationRefused ? err.message : `unexpected error: ${describeError(err)}`;
      this.deps.logger.warn('validation request failed', { validationId: request.validationId, modelId: request.modelId, reason });
      return { validationId: request.validationId, deviceId, ok: false, reason };
    } finally {
      await session?.release().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The verified artifact on disk, checked like a swap's: signed manifest, size, SHA-256. */
  private async fetch(request: DeviceValidationRequest, dir: string): Promise<string> {
    const { manifest } = request.release;
    const verdict = verifyManifest(request.release, this.deps.manifestPublicKeyPem, { now: this.deps.clock() });
    if (!verdict.ok) throw new ValidationRefused(`manifest rejected (${verdict.reason}): ${verdict.message}`);
    if (manifest.modelId !== request.modelId) {
      throw new ValidationRefused(`manifest is for model ${manifest.modelId} but the request names ${request.modelId}`);
    }
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'model.onnx');
    const downloaded = await downloadArtifact({
      url: request.artifactUrl, destination: path, maxBytes: manifest.sizeBytes, retries: this.deps.downloadRetries, signal: this.deps.signal,
    }).catch((err: unknown) => {
      throw new ValidationRefused(`download failed: ${describeError(err)}`);
    });
    const mismatch = digestMismatch(downloaded, manifest);
    if (mismatch !== undefined) throw new ValidationRefused(mismatch);
    return path;
  }
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

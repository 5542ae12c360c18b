/**
 * One hot swap, step by step (DESIGN "Device swap protocol"): verify the signed manifest, download,
 * check size and SHA-256, load and warm the new session beside the serving one, flip the active
 * pointer, retire the old session after the grace period, persist the state. Each step is reported;
 * any failure leaves the old model serving and is reported with its precise reason.
 */
import { rename, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ArtifactTransport, SwapCommand, SwapPhase, SwapTimings } from '@hotswap/contracts';
import { chooseArtifactTransport } from '@hotswap/domain';
import { verifyManifest } from '@hotswap/infrastructure';
import { describeError, type AgentLogger } from '../agent/logger.js';
import { SwapFailedError } from '../agent/errors.js';
import { downloadArtifact } from './artifact-downloader.js';
import { downloadArtifactOverNats } from './nats-artifact-source.js';
import { artifactMismatch, digestMismatch } from './artifact-verifier.js';
import { warmUp, type SessionOptions } from './model-loader.js';
import { ModelSlot, type ModelSlots } from './model-slots.js';
import type { InstalledModel, ModelStore } from './model-store.js';
import { swapSpan } from '../telemetry/swap-tracing.js';
import { rollbackRefusal } from './rollback-protection.js';
import type { SessionCache, SessionLease } from './session-cache.js';

export interface SwapJob {
  readonly command: SwapCommand;
  /** `performance.now()` when the command arrived: `totalMs` counts from here. */
  readonly receivedAt: number;
  /** The command's traceparent; while the job runs, the one its status reports carry (`tracedSwap`). */
  readonly traceparent: string;
  /** Whether the job came from a `.cmd` message or from a `.sync` reply. */
  readonly source: 'command' | 'sync';
}

export interface StatusUpdate {
  readonly phase: SwapPhase;
  readonly reason?: string;
  readonly timings?: SwapTimings;
}

export interface SwapPipelineDeps {
  /** For the `model.swap` span's `device.id`. */
  readonly deviceId: string;
  readonly store: ModelStore;
  readonly slots: ModelSlots;
  /** Where sessions are loaded (each on its own thread), shared by identical artifacts. */
  readonly sessions: SessionCache;
  readonly manifestPublicKeyPem: string;
  readonly clock: () => Date;
  /** How long a retired session stays loaded before release (once idle), in ms. */
  readonly graceMs: number;
  readonly warmupRuns: number;
  readonly downloadRetries: number;
  readonly downloadBackoffBaseMs?: number;
  readonly downloadBackoffMaxMs?: number;
  /** The device's `transport` capability: how it fetches artifacts when the command does not say. Default `http`. */
  readonly transport?: ArtifactTransport;
  /** The NATS transport: the agent's connection and the chunking of `.artifact` requests. */
  readonly nats?: NatsTransferSettings;
  /** Bytes the download must leave free on the data directory's file system. */
  readonly diskReserveBytes?: number;
  readonly sessionOptions?: SessionOptions;
  /** Aborted when the agent stops: downloads and waits end at once. */
  readonly signal: AbortSignal;
  readonly logger: AgentLogger;
  readonly report: (job: SwapJob, update: StatusUpdate) => void;
}

export interface NatsTransferSettings {
  readonly connection: () => NatsConnection | undefined;
  readonly chunkBytes: number;
  readonly window: number;
  readonly requestTimeoutMs: number;
}

type Outcome = 'swapped' | 'already-active' | 'failed';

export class SwapPipeline {
  constructor(private readonly deps: SwapPipelineDeps) {}

  async run(job: SwapJob): Promise<Outcome> {
    const { command } = job;
    const timings: Mutable<SwapTimings> = {};
    const report = (phase: SwapPhase, reason?: string, withTimings = false) =>
      this.deps.report(job, { phase, reason, timings: withTimings ? { ...timings, totalMs: ms(performance.now() - job.receivedAt) } : undefined });
    report('received');
    if (this.deps.slots.active?.modelId === command.modelId) {
      report('swapped', 'already active', true);
      return 'already-active';
    }
    let lease: SessionLease | undefined;
    try {
      // The command's parsing, validation and ack ran in one synchronous stretch; let the
      // inference replies queued meanwhile through before verification adds another.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const installed = await this.prepare(job, timings, report);
      const path = installed.artifactPath;

      const previous = await swapSpan(this.deps.deviceId, command, async () => {
        report('loading');
        let t = performance.now();
        // Loaded and warmed on the session's own thread: the active model keeps serving meanwhile.
        const acquired = await this.step('model failed to load', () => this.deps.sessions.acquire(installed.release.manifest.sha256, path, this.deps.sessionOptions));
        lease = acquired;
        timings.loadMs = ms(performance.now() - t);

        report('warming');
        t = performance.now();
        // Warmed with the inputs the device's applications send today (the active model's).
        const signature = this.deps.slots.active?.inputs;
        await this.step('warm-up failed', () => warmUp(acquired.session, this.deps.warmupRuns, signature));
        timings.warmupMs = ms(performance.now() - t);
        this.throwIfStopping();
        await acquired.session.serve?.();

        t = performance.now();
        const replaced = this.deps.slots.activate(new ModelSlot(installed, acquired));
        timings.activateMs = ms(performance.now() - t);
        lease = undefined; // now owned by its slot
        return replaced;
      });

      if (previous) this.deps.slots.retire(previous, this.deps.graceMs, (err) => this.deps.logger.warn('releasing the previous session failed', { modelId: previous.modelId, error: describeError(err) }));
      await this.persist(installed, previous?.model);
      report('swapped', undefined, true);
      return 'swapped';
    } catch (err) {
      if (lease) await lease.release().catch(() => undefined);
      const reason = err instanceof SwapFailedError ? err.message : `unexpected error: ${describeError(err)}`;
      report('failed', reason, true);
      return 'failed';
    }
  }

  /** Steps 1–3: a verified artifact at its final path. */
  private async prepare(job: SwapJob, timings: Mutable<SwapTimings>, report: (phase: SwapPhase) => void): Promise<InstalledModel> {
    const { command } = job;
    const { store } = this.deps;
    const release = command.release;
    const manifest = release.manifest;

    let t = performance.now();
    const verdict = verifyManifest(release, this.deps.manifestPublicKeyPem, { now: this.deps.clock() });
    if (!verdict.ok) throw new SwapFailedError(`manifest rejected (${verdict.reason}): ${verdict.message}`);
    if (manifest.modelId !== command.modelId) {
      throw new SwapFailedError(`manifest is for model ${manifest.modelId} but the command names ${command.modelId}`);
    }
    const refusal = rollbackRefusal(command, this.deps.slots.active?.model.release.manifest, this.deps.manifestPublicKeyPem, this.deps.clock());
    if (refusal !== undefined) throw new SwapFailedError(refusal);
    let verifyMs = performance.now() - t;

    const artifactPath = store.artifactPath(command.modelId);
    const partPath = store.partPath(command.modelId);
    // The previous model stays on disk, so a rollback to it needs no download.
    const kept = (await store.sizeOf(artifactPath)) !== undefined && (await artifactMismatch(artifactPath, manifest)) === undefined;
    report('downloading');
    t = performance.now();
    let downloaded: { bytes: number; sha256: string } | undefined;
    if (!kept) {
      await rm(artifactPath, { force: true });
      downloaded = await this.download(command, partPath);
    }
    timings.downloadMs = ms(performance.now() - t);

    report('verifying');
    t = performance.now();
    if (downloaded !== undefined) {
      const mismatch = digestMismatch(downloaded, manifest);
      if (mismatch !== undefined) {
        // Never resume from bytes that hashed wrong.
        await rm(partPath, { force: true });
        throw new SwapFailedError(mismatch);
      }
      await rename(partPath, artifactPath);
    }
    verifyMs += performance.now() - t;
    timings.verifyMs = ms(verifyMs);
    this.throwIfStopping();
    return { modelId: command.modelId, artifactPath, release };
  }

  /** Fetches the artifact into `partPath` over the command's transport, or the device's own (`auto`). */
  private async download(command: SwapCommand, partPath: string): Promise<{ bytes: number; sha256: string }> {
    const { store } = this.deps;
    const manifest = command.release.manifest;
    const freeBytes = async () => Math.max(0, (await store.freeBytes()) - (this.deps.diskReserveBytes ?? 0));
    const transport = chooseArtifactTransport(command.transport, this.deps.transport);
    if (transport === 'nats') {
      const nats = this.deps.nats;
      if (nats === undefined) throw new SwapFailedError('download failed: the NATS transport is not available on this device');
      const artifactKey = command.artifactKey;
      if (artifactKey === undefined) throw new SwapFailedError('download failed: the command names no artifactKey for the NATS transport');
      return this.step('download over NATS failed', () =>
        downloadArtifactOverNats({
          connection: nats.connection,
          deviceId: this.deps.deviceId,
          modelId: command.modelId,
          artifactKey,
          destination: partPath,
          maxBytes: manifest.sizeBytes,
          chunkBytes: nats.chunkBytes,
          window: nats.window,
          requestTimeoutMs: nats.requestTimeoutMs,
          retries: this.deps.downloadRetries,
          backoffBaseMs: this.deps.downloadBackoffBaseMs,
          backoffMaxMs: this.deps.downloadBackoffMaxMs,
          freeBytes,
          signal: this.deps.signal,
          onResume: (offset) => this.deps.logger.info('resuming the artifact transfer', { commandId: command.commandId, transport, offset, sizeBytes: manifest.sizeBytes }),
          onRetry: ({ attempt, delayMs, error, offset }) =>
            this.deps.logger.warn('artifact transfer interrupted; retrying', { commandId: command.commandId, transport, attempt, delayMs, offset, error: describeError(error) }),
        }),
      );
    }
    return this.step('download failed', () =>
      downloadArtifact({
        url: command.artifactUrl,
        destination: partPath,
        maxBytes: manifest.sizeBytes,
        retries: this.deps.downloadRetries,
        backoffBaseMs: this.deps.downloadBackoffBaseMs,
        backoffMaxMs: this.deps.downloadBackoffMaxMs,
        freeBytes,
        signal: this.deps.signal,
        onRetry: ({ attempt, delayMs, error }) =>
          this.deps.logger.warn('download attempt failed; retrying', { commandId: command.commandId, attempt, delayMs, error: describeError(error) }),
      }),
    );
  }

  private async persist(active: InstalledModel, previous: InstalledModel | undefined): Promise<void> {
    const { store, logger } = this.deps;
    try {
      await store.writeState({ version: 1, active, previous: previous?.modelId === active.modelId ? undefined : previous });
      const removed = await store.prune([active.modelId, ...(previous ? [previous.modelId] : [])]);
      if (removed.length > 0) logger.debug('removed old model artifacts', { removed });
    } catch (err) {
      // The swap itself succeeded; only a restart would bring the old model back.
      logger.error('could not persist the agent state', { error: describeError(err) });
    }
  }

  private async step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.throwIfStopping();
    try {
      return await fn();
    } catch (err) {
      if (this.deps.signal.aborted) throw new SwapFailedError('the agent is stopping', { cause: err });
      throw new SwapFailedError(`${what}: ${describeError(err)}`, { cause: err });
    }
  }

  private throwIfStopping(): void {
    if (this.deps.signal.aborted) throw new SwapFailedError('the agent is stopping');
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Milliseconds rounded to 0.1: swaps of small models take a few ms, so whole ms would hide them. */
function ms(value: number): number {
  return Math.round(value * 10) / 10;
}

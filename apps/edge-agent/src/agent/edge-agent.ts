/**
 * The device runtime. It serves inferences from the active ONNX session and, over core NATS only,
 * announces itself, takes swap commands on `hotswap.device.<id>.cmd`, asks for its desired model on
 * every (re)connect, and reports heartbeats, swap progress and telemetry windows.
 */
import 'reflect-metadata';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateSync } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type * as ort from 'onnxruntime-node';
import {
  DeviceAnnouncement,
  DeviceSubjects,
  type CommandAck,
  type CredentialsReply,
  type DeviceStatusReport,
  type Heartbeat,
  type SwapCommand,
  type SyncRequest,
} from '@hotswap/contracts';
import { assertManifestPublicKey, childTraceparent, drainOrClose, formatValidationErrors, newTraceparent, parseTraceparent } from '@hotswap/infrastructure';
import { parseCommand, parseJson, validateSwapCommand } from '../messages/validation.js';
import { artifactMismatch } from '../swap/artifact-verifier.js';
import { InferenceServer, type ServedModel } from '../inference/inference-server.js';
import { warmUp } from '../swap/model-loader.js';
import { ModelSlot, ModelSlots } from '../swap/model-slots.js';
import { ModelStore, type InstalledModel } from '../swap/model-store.js';
import { SessionCache, type SessionLease } from '../swap/session-cache.js';
import { SwapPipeline, type StatusUpdate, type SwapJob } from '../swap/swap-pipeline.js';
import { fromOrtTensor, toOrtTensor, type Feeds, type TensorData } from '../swap/tensors.js';
import { InferenceStats } from '../telemetry/inference-stats.js';
import { forwardingLogger } from '../telemetry/device-logging.js';
import { tracedSwap } from '../telemetry/swap-tracing.js';
import { matchesLabel, type Label } from '../telemetry/label.js';
import { DeviceValidations } from '../validation/device-validation.js';
import { DeviceCredentials } from './device-credentials.js';
import { EDGE_AGENT_DEFAULTS, type EdgeAgentOptions } from './edge-agent-options.js';
import { InferenceError, NoModelLoadedError } from './errors.js';
import { describeError, jsonLogger, type AgentLogger } from './logger.js';
import { SwapQueue } from './swap-queue.js';

export class InvalidAgentOptionsError extends Error {
  override readonly name = 'InvalidAgentOptionsError';
}

export interface InferenceResult {
  /** The model that answered (the active one when the request started). */
  readonly modelId: string;
  readonly outputs: ort.InferenceSession.OnnxValueMapType;
  /** Whether the output matched the label, when one was given (see telemetry/label.ts). */
  readonly correct?: boolean;
}

/** An inference on plain tensors (`inferTensors`), as the worker returns them. */
export interface TensorInferenceResult {
  readonly modelId: string;
  readonly outputs: Record<string, TensorData>;
  /** Time from the call to the answer, in ms. */
  readonly latencyMs: number;
  readonly correct?: boolean;
}

export interface InferOptions {
  /** The expected answer, for accuracy (see telemetry/label.ts). */
  readonly label?: Label;
  /**
   * Move the input buffers to the session's thread instead of copying them; the caller's tensors
   * are unusable afterwards. Default false.
   */
  readonly transfer?: boolean;
}

/** Remembered command ids, for idempotency; the oldest are forgotten beyond this. */
const SEEN_COMMANDS_LIMIT = 1000;
const RETRY_BASE_MS = 250;
/** Longest single timer (setTimeout caps at 2^31-1 ms); a later renewal is re-planned when it fires. */
const MAX_TIMER_MS = 24 * 3600_000;
/** `.register` error codes that mean "not registered yet", not "refused". */
const RETRYABLE_REGISTRATION_CODES: ReadonlySet<string> = new Set(['UNAVAILABLE', 'INTERNAL']);

/** The registry answered but did not register the device (busy or failing): it asks again. */
class RegistrationDeferredError extends Error {
  constructor(readonly code: string, detail: string) {
    super(`registry answered ${code}: ${detail}`);
    this.name = 'RegistrationDeferredError';
  }
}

/**
 * Cap of one `.register` request's timeout. It doubles per attempt: a registry working through a
 * fleet's burst answers late, and re-asking at a fixed short timeout only queues more work for it
 * (each abandoned request is still processed) while no answer ever arrives in time.
 */
const REGISTER_TIMEOUT_MAX_MS = 30_000;
/** Error codes of a `.credentials` reply worth asking again for; any other is a refusal. */
const TRANSIENT_CODES = new Set(['UNAVAILABLE', 'INTERNAL', 'TIMEOUT']);

export class EdgeAgent {
  readonly deviceId: string;
  private readonly opts: Required<Omit<EdgeAgentOptions, 'natsOptions' | 'sessionOptions' | 'tags' | 'clock' | 'logger' | 'inferencePort' | 'sessionCache' | 'credentials'>> &
    Pick<EdgeAgentOptions, 'natsOptions' | 'sessionOptions' | 'tags' | 'inferencePort'>;
  private readonly clock: () => Date;
  private readonly logger: AgentLogger;
  private readonly store: ModelStore;
  private readonly slots = new ModelSlots();
  private readonly validations: DeviceValidations;
  private readonly sessions: SessionCache;
  /** Whether the agent made its session cache (and so closes it), or was given a shared one. */
  private readonly ownsSessions: boolean;
  private inferenceServer: InferenceServer | undefined;
  private readonly stats: InferenceStats;
  private readonly pipeline: SwapPipeline;
  private readonly queue: SwapQueue<SwapJob>;
  /** Commands already received (for idempotency), with their final report once there is one. */
  private readonly seenCommands = new Map<string, DeviceStatusReport | undefined>();
  private readonly lifetime = new AbortController();
  private nc: NatsConnection | undefined;
  private connecting: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';
  private registered = false;
  /** False between a `disconnect` and the next `reconnect`. */
  private linkUp = false;
  private syncGeneration = 0;
  private onlineWaiters: Array<() => void> = [];
  /** The renewable NATS credentials, when started with `credentials`. */
  private readonly credentials: DeviceCredentials | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  /** Set once the control plane refused a renewal (deregistered): the agent stops asking. */
  private renewalRefusal: string | undefined;

  constructor(options: EdgeAgentOptions) {
    const announcement = plainToInstance(DeviceAnnouncement, {
      deviceId: options.deviceId,
      deviceType: options.deviceType,
      region: options.region,
      capabilities: options.capabilities,
      tags: options.tags ? [...options.tags] : undefined,
    });
    const errors = validateSync(announcement, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) throw new InvalidAgentOptionsError(`invalid edge agent options: ${formatValidationErrors(errors)}`);
    try {
      assertManifestPublicKey(options.manifestPublicKeyPem);
    } catch (err) {
      throw new InvalidAgentOptionsError(`invalid manifestPublicKeyPem: ${describeError(err)}`, { cause: err });
    }
    for (const key of ['heartbeatIntervalMs', 'telemetryIntervalMs', 'graceMs', 'warmupRuns', 'downloadRetries', 'requestTimeoutMs', 'diskReserveBytes'] as const) {
      const value = options[key];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new InvalidAgentOptionsError(`${key} must be a number >= 0, got ${value}`);
    }
    if (options.natsChunkBytes !== undefined && !(Number.isInteger(options.natsChunkBytes) && options.natsChunkBytes >= 1024 && options.natsChunkBytes <= 64 * 1024 * 1024)) {
      throw new InvalidAgentOptionsError(`natsChunkBytes must be an integer in 1024..67108864, got ${options.natsChunkBytes}`);
    }
    if (options.natsChunkWindow !== undefined && !(Number.isInteger(options.natsChunkWindow) && options.natsChunkWindow >= 1 && options.natsChunkWindow <= 64)) {
      throw new InvalidAgentOptionsError(`natsChunkWindow must be an integer in 1..64, got ${options.natsChunkWindow}`);
    }
    if (options.natsChunkTimeoutMs !== undefined && !(Number.isFinite(options.natsChunkTimeoutMs) && options.natsChunkTimeoutMs >= 1)) {
      throw new InvalidAgentOptionsError(`natsChunkTimeoutMs must be a number >= 1, got ${options.natsChunkTimeoutMs}`);
    }
    const port = options.inferencePort;
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      throw new InvalidAgentOptionsError(`inferencePort must be an integer in 0..65535, got ${port}`);
    }
    if (options.credentials !== undefined) {
      if (options.natsOptions?.authenticator !== undefined) throw new InvalidAgentOptionsError('give either credentials or natsOptions.authenticator, not both');
      try {
        this.credentials = new DeviceCredentials(options.credentials, options.dataDir);
      } catch (err) {
        throw new InvalidAgentOptionsError(`invalid credentials: ${describeError(err)}`, { cause: err });
      }
    }
    this.deviceId = options.deviceId;
    this.opts = { ...EDGE_AGENT_DEFAULTS, ...withoutUndefined(options) } as EdgeAgent['opts'];
    this.clock = options.clock ?? (() => new Date());
    // Warnings and errors also go to central logging, over NATS.
    this.logger = forwardingLogger(options.logger ?? jsonLogger({ deviceId: options.deviceId }), options.deviceId,
      (line) => this.publish(DeviceSubjects.log(this.deviceId), line), this.clock);
    this.store = new ModelStore(options.dataDir);
    this.sessions = options.sessionCache ?? new SessionCache();
    this.ownsSessions = options.sessionCache === undefined;
    this.stats = new InferenceStats(this.deviceId, this.clock());
    this.pipeline = new SwapPipeline({
      deviceId: options.deviceId,
      store: this.store,
      slots: this.slots,
      sessions: this.sessions,
      manifestPublicKeyPem: options.manifestPublicKeyPem,
      clock: this.clock,
      graceMs: this.opts.graceMs,
      warmupRuns: this.opts.warmupRuns,
      downloadRetries: this.opts.downloadRetries,
      downloadBackoffBaseMs: this.opts.downloadBackoffBaseMs,
      downloadBackoffMaxMs: this.opts.downloadBackoffMaxMs,
      diskReserveBytes: this.opts.diskReserveBytes,
      transport: options.capabilities.transport ?? 'http',
      nats: {
        connection: () => this.nc,
        chunkBytes: this.opts.natsChunkBytes,
        window: this.opts.natsChunkWindow,
        requestTimeoutMs: this.opts.natsChunkTimeoutMs,
      },
      sessionOptions: options.sessionOptions,
      signal: this.lifetime.signal,
      logger: this.logger,
      report: (job, update) => this.reportStatus(job, update),
    });
    this.validations = new DeviceValidations({
      deviceId: this.deviceId, workDir: join(options.dataDir, 'validation'), manifestPublicKeyPem: options.manifestPublicKeyPem, clock: this.clock,
      downloadRetries: this.opts.downloadRetries, sessionOptions: options.sessionOptions, signal: this.lifetime.signal, logger: this.logger,
    });
    this.queue = new SwapQueue<SwapJob>(
      async (job) => {
        const outcome = await tracedSwap(this.deviceId, job, (traced) => this.pipeline.run(traced));
        this.logger.info(`swap ${outcome}`, { commandId: job.command.commandId, modelId: job.command.modelId, source: job.source });
      },
      (dropped, by) => this.reportStatus(dropped, { phase: 'failed', reason: `superseded by command ${by.command.commandId}` }),
      (err, job) => this.logger.error('swap crashed', { commandId: job.command.commandId, error: describeError(err) }),
    );
  }

  /** The model serving inferences now, if any. */
  get activeModelId(): string | undefined {
    return this.slots.active?.modelId;
  }

  /** The active model's name, version and inputs, if a model is active. */
  servedModel(): ServedModel | undefined {
    const slot = this.slots.active;
    if (slot === undefined) return undefined;
    const { name, version } = slot.model.release.manifest;
    return { modelId: slot.modelId, name, version, inputs: slot.inputs };
  }

  /** The URL of `POST /infer` (e.g. `http://127.0.0.1:43121/infer`) once started with `inferencePort`. */
  get inferenceUrl(): string | undefined {
    return this.inferenceServer ? `${this.inferenceServer.url}/infer` : undefined;
  }

  /** Whether the device is connected to NATS (not between a disconnect and a reconnect) and registered. */
  get online(): boolean {
    return this.registered && this.linkUp && this.nc !== undefined && !this.nc.isClosed();
  }

  /**
   * Restores the last good model from `dataDir` and serves it, then starts connecting in the
   * background (forever, with backoff): resolves once the restored model serves, without waiting
   * for NATS. Use `waitUntilOnline()` to wait for the connection.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`edge agent ${this.deviceId} was already started`);
    this.state = 'started';
    await this.store.init();
    await this.loadStoredCredentials();
    await this.restore();
    if (this.opts.inferencePort !== undefined) {
      this.inferenceServer = await InferenceServer.start(this, this.opts.inferenceHost, this.opts.inferencePort);
      this.logger.info('serving POST /infer', { url: this.inferenceUrl });
    }
    this.timers.push(
      setInterval(() => this.publishHeartbeat(), this.opts.heartbeatIntervalMs).unref(),
      setInterval(() => this.publishTelemetry(), this.opts.telemetryIntervalMs).unref(),
    );
    this.connecting = this.connectLoop();
  }

  /** Resolves once connected, subscribed to commands and registered. */
  async waitUntilOnline(timeoutMs = 30_000): Promise<void> {
    if (this.online) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.onlineWaiters.push(resolve)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`edge agent ${this.deviceId} did not come online within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Resolves when no swap runs or waits. */
  swapsIdle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * Runs one inference on the active session, on the session's own thread. A swap never
   * interrupts it: it finishes on the session it started on.
   * @throws NoModelLoadedError when no model is active; InferenceError when the session fails.
   */
  async infer(feeds: Record<string, ort.Tensor>, options: InferOptions = {}): Promise<InferenceResult> {
    const plain: Feeds = {};
    for (const [name, tensor] of Object.entries(feeds)) plain[name] = fromOrtTensor(tensor);
    const result = await this.inferTensors(plain, options);
    const outputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(result.outputs)) outputs[name] = toOrtTensor(t);
    return { modelId: result.modelId, outputs, ...(result.correct !== undefined ? { correct: result.correct } : {}) };
  }

  /** `infer` on plain `{ type, dims, data }` tensors, without building onnxruntime tensors. */
  async inferTensors(feeds: Feeds, options: InferOptions = {}): Promise<TensorInferenceResult> {
    const slot = this.slots.active;
    if (slot === undefined) throw new NoModelLoadedError(this.deviceId);
    const started = performance.now();
    try {
      const outputs = await slot.run(feeds, options.transfer);
      const latencyMs = performance.now() - started;
      const first = outputs[slot.outputNames[0]];
      const correct = options.label !== undefined && first !== undefined ? matchesLabel(first, options.label) : undefined;
      this.stats.record(slot.modelId, latencyMs, true, correct);
      return { modelId: slot.modelId, outputs, latencyMs, ...(correct !== undefined ? { correct } : {}) };
    } catch (err) {
      this.stats.record(slot.modelId, performance.now() - started, false);
      throw new InferenceError(slot.modelId, { cause: err });
    }
  }

  /** Stops swaps, timers and NATS (drained), then releases every session. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const wasStarted = this.state === 'started';
    this.state = 'stopping';
    this.lifetime.abort(new Error('the agent is stopping'));
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    clearTimeout(this.renewTimer);
    await this.inferenceServer?.close();
    if (wasStarted) {
      // The running swap ends at its next step and reports why, while NATS is still up.
      await this.queue.idle();
      this.publishTelemetry();
      const nc = this.nc;
      this.nc = undefined;
      if (nc !== undefined) {
        // Bounded: a connection the server refuses (expired credentials) has nothing to drain into.
        const { outcome, error } = await drainOrClose(nc);
        if (outcome === 'failed' || outcome === 'timed-out') this.logger.warn('NATS drain did not finish; connection closed', { outcome, error: error === undefined ? undefined : describeError(error) });
      }
      // A connect, register or sync attempt in flight sees the closed connection or the abort and ends.
      await this.connecting;
    }
    await this.slots.close();
    if (this.ownsSessions) await this.sessions.close();
    this.state = 'stopped';
    this.logger.info('edge agent stopped');
  }

  // --- start-up -------------------------------------------------------------------------------

  /** Serves the model `state.json` names (or the previous one if it is unusable). */
  private async restore(): Promise<void> {
    let saved;
    try {
      saved = await this.store.readState();
    } catch (err) {
      this.logger.warn('ignoring unreadable agent state', { error: describeError(err) });
      return;
    }
    if (saved === undefined) return;
    for (const candidate of [saved.active, saved.previous]) {
      if (candidate === undefined) continue;
      try {
        const artifactPath = this.store.artifactPath(candidate.modelId);
        const mismatch = await artifactMismatch(artifactPath, candidate.release.manifest);
        if (mismatch !== undefined) throw new Error(mismatch);
        const lease: SessionLease = await this.sessions.acquire(candidate.release.manifest.sha256, artifactPath, this.opts.sessionOptions);
        try {
          await warmUp(lease.session, this.opts.warmupRuns);
        } catch (err) {
          await lease.release();
          throw err;
        }
        const model: InstalledModel = { ...candidate, artifactPath };
        this.slots.activate(new ModelSlot(model, lease));
        if (candidate !== saved.active) await this.store.writeState({ version: 1, active: model });
        this.logger.info('restored the last good model', { modelId: candidate.modelId });
        return;
      } catch (err) {
        this.logger.warn('cannot restore model', { modelId: candidate.modelId, error: describeError(err) });
      }
    }
  }

  private async connectLoop(): Promise<void> {
    const servers = typeof this.opts.natsServers === 'string' ? this.opts.natsServers.split(',').map((s) => s.trim()) : [...this.opts.natsServers];
    for (let attempt = 1; this.state === 'started'; attempt++) {
      try {
        // The client's own first-connect wait cannot be cancelled, so the agent retries itself.
        const nc = await connect({
          ...this.opts.natsOptions,
          ...(this.credentials ? { authenticator: this.credentials.authenticator } : {}),
          servers,
          name: `hotswap-edge-agent-${this.deviceId}`,
          inboxPrefix: `_INBOX_${this.deviceId}`,
          reconnect: true,
          maxReconnectAttempts: -1,
          waitOnFirstConnect: false,
        });
        if (this.state !== 'started') {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.linkUp = true;
        this.logger.info('connected to NATS', { server: nc.getServer() });
        this.watch(nc);
        await this.onConnected(nc);
        return;
      } catch (err) {
        const delayMs = this.backoff(attempt);
        const log = attempt === 1 ? this.logger.warn : this.logger.debug;
        log.call(this.logger, 'cannot connect to NATS; retrying', { servers: servers.map(withoutUserInfo), attempt, delayMs, error: describeError(err) });
        await sleep(delayMs, undefined, { signal: this.lifetime.signal }).catch(() => undefined);
      }
    }
  }

  private watch(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'reconnect') {
          this.linkUp = true;
          this.logger.info('reconnected to NATS', { server: s.server });
          if (this.online) for (const wake of this.onlineWaiters.splice(0)) wake();
          if (this.registered) void this.sync();
          this.scheduleRenewal();
        } else if (s.type === 'disconnect') {
          this.linkUp = false;
          this.logger.warn('disconnected from NATS', { server: s.server });
        } else if (s.type === 'error') {
          this.logger.warn('NATS error', { error: describeError(s.error) });
        }
      }
    })();
    void nc.closed().then((err) => {
      if (this.state !== 'started' || this.nc !== nc) return;
      // Closed by the client itself (e.g. an authorization failure): start over.
      this.logger.error('NATS connection closed; connecting again', { error: err ? describeError(err) : undefined });
      this.nc = undefined;
      this.registered = false;
      this.connecting = this.connectLoop();
    });
  }

  private async onConnected(nc: NatsConnection): Promise<void> {
    nc.subscribe(DeviceSubjects.command(this.deviceId), { callback: (_err, msg) => void this.onCommand(msg) });
    // "Load model on validation device": benchmarked beside the serving model, never swapped in.
    nc.subscribe(DeviceSubjects.validate(this.deviceId), { callback: (_err, msg) => void this.validations.handle(msg.data).then((reply) => msg.respond(JSON.stringify(reply))) });
    await this.register(nc);
    if (this.state !== 'started') return;
    this.registered = true;
    for (const wake of this.onlineWaiters.splice(0)) wake();
    this.publishHeartbeat();
    void this.sync();
    this.scheduleRenewal();
  }

  // --- credentials ----------------------------------------------------------------------------

  /** A restarted agent continues with the credentials it renewed last, when they outlive the configured ones. */
  private async loadStoredCredentials(): Promise<void> {
    if (this.credentials === undefined) return;
    try {
      if (await this.credentials.loadStored()) this.logger.info('using the stored renewed NATS credentials', { expiresAt: this.credentialsExpiry() });
    } catch (err) {
      this.logger.warn('ignoring unreadable stored NATS credentials', { path: this.credentials.path, error: describeError(err) });
    }
  }

  private credentialsExpiry(): string | undefined {
    const expiresAtMs = this.credentials?.lifetime.expiresAtMs;
    return expiresAtMs === undefined ? undefined : new Date(expiresAtMs).toISOString();
  }

  /**
   * Plans the next renewal at 2/3 of the credentials' lifetime. Real time, not `clock`: the server
   * enforces the JWT's expiry on its own wall clock.
   */
  private scheduleRenewal(delayMs?: number): void {
    if (this.credentials === undefined || this.renewalRefusal !== undefined || this.state !== 'started' || this.renewing) return;
    const renewAtMs = this.credentials.renewAtMs();
    if (renewAtMs === undefined) return;
    clearTimeout(this.renewTimer);
    const wait = Math.min(delayMs ?? Math.max(0, renewAtMs - Date.now()), MAX_TIMER_MS);
    this.renewTimer = setTimeout(() => void this.renewCredentials(), wait).unref();
  }

  /** Asks `.credentials` for fresh credentials, stores them and uses them from the next (re)connect. */
  private async renewCredentials(attempt = 1): Promise<void> {
    const credentials = this.credentials;
    const renewAtMs = credentials?.renewAtMs();
    if (credentials === undefined || renewAtMs === undefined || this.state !== 'started') return;
    if (Date.now() < renewAtMs) {
      this.scheduleRenewal();
      return;
    }
    const nc = this.nc;
    if (nc === undefined || nc.isClosed() || !this.linkUp) return; // the next (re)connect plans it again
    this.renewing = true;
    let retryMs: number | undefined;
    try {
      const reply = await nc.request(DeviceSubjects.credentials(this.deviceId), JSON.stringify({ deviceId: this.deviceId }), {
        timeout: this.opts.requestTimeoutMs,
        headers: traceHeaders(),
      });
      const parsed = parseJson(reply.data);
      const body = parsed.ok ? (parsed.value as Partial<CredentialsReply> & { error?: { code?: unknown; message?: unknown } } | null) : null;
      if (body?.error !== undefined && TRANSIENT_CODES.has(String(body.error.code))) throw new Error(String(body.error.message ?? body.error.code));
      if (body?.error !== undefined) {
        this.renewalRefusal = String(body.error.message ?? body.error.code ?? 'refused');
        this.logger.error('NATS credentials renewal refused; the device goes offline when they expire and keeps serving its model locally', {
          reason: this.renewalRefusal, code: body.error.code, expiresAt: this.credentialsExpiry(),
        });
        return;
      }
      if (typeof body?.token !== 'string') throw new Error(parsed.ok ? 'the reply has no token' : parsed.reason);
      await credentials.replace(body.token);
      this.logger.info('renewed NATS credentials', { expiresAt: this.credentialsExpiry() });
    } catch (err) {
      retryMs = this.backoff(attempt);
      const log = attempt === 1 ? this.logger.warn : this.logger.debug;
      log.call(this.logger, 'NATS credentials renewal failed; retrying', { attempt, delayMs: retryMs, expiresAt: this.credentialsExpiry(), error: describeError(err) });
    } finally {
      this.renewing = false;
    }
    if (this.state !== 'started') return;
    if (retryMs === undefined) this.scheduleRenewal();
    else {
      clearTimeout(this.renewTimer);
      this.renewTimer = setTimeout(() => void this.renewCredentials(attempt + 1), retryMs).unref();
    }
  }

  /** Announces the device until the control plane answers. */
  private async register(nc: NatsConnection): Promise<void> {
    const announcement: DeviceAnnouncement = {
      deviceId: this.deviceId,
      deviceType: this.opts.deviceType,
      region: this.opts.region,
      capabilities: this.opts.capabilities,
      ...(this.opts.tags ? { tags: [...this.opts.tags] } : {}),
    };
    for (let attempt = 1; this.state === 'started' && !nc.isClosed(); attempt++) {
      try {
        const reply = await nc.request(DeviceSubjects.register(this.deviceId), JSON.stringify(announcement), {
          timeout: Math.max(this.opts.requestTimeoutMs, Math.min(this.opts.requestTimeoutMs * 2 ** (attempt - 1), REGISTER_TIMEOUT_MAX_MS)),
          headers: traceHeaders(),
        });
        const parsed = parseJson(reply.data);
        const body = parsed.ok ? (parsed.value as { accepted?: unknown; reason?: unknown; error?: { code?: unknown; message?: unknown } } | null) : null;
        // A registry shedding a burst (UNAVAILABLE) or failing (INTERNAL) has not registered us: ask again.
        if (body?.error !== undefined && RETRYABLE_REGISTRATION_CODES.has(String(body.error.code))) {
          throw new RegistrationDeferredError(String(body.error.code), String(body.error.message));
        }
        if (body?.accepted === false) this.logger.warn('registration refused', { reason: body.reason });
        else if (body?.error !== undefined) this.logger.warn('registration refused', { reason: String(body.error.message) });
        else this.logger.info('registered');
        return;
      } catch (err) {
        const delayMs = this.backoff(attempt);
        // A registry shedding a fleet-wide burst is flow control, not a fault: at warn level, thousands
        // of devices would forward thousands of lines to the central log just when it is busiest.
        const busy = err instanceof RegistrationDeferredError && err.code === 'UNAVAILABLE';
        const log = attempt === 1 && !busy ? this.logger.warn : this.logger.debug;
        log.call(this.logger, busy ? 'registry busy; registering again' : 'registration not answered; retrying', { attempt, delayMs, error: describeError(err) });
        await sleep(delayMs, undefined, { signal: this.lifetime.signal }).catch(() => undefined);
      }
    }
  }

  /** Asks the control plane for the desired model and converges to it; retried until answered. */
  private async sync(): Promise<void> {
    const generation = ++this.syncGeneration;
    for (let attempt = 1; this.state === 'started' && generation === this.syncGeneration; attempt++) {
      const nc = this.nc;
      if (nc === undefined || nc.isClosed()) return;
      const request: SyncRequest = { deviceId: this.deviceId, ...(this.activeModelId ? { activeModelId: this.activeModelId } : {}) };
      try {
        const reply = await nc.request(DeviceSubjects.sync(this.deviceId), JSON.stringify(request), {
          timeout: this.opts.requestTimeoutMs,
          headers: traceHeaders(),
        });
        if (generation !== this.syncGeneration) return;
        await this.onSyncReply(reply);
        return;
      } catch (err) {
        const delayMs = this.backoff(attempt);
        this.logger.debug('sync not answered; retrying', { attempt, delayMs, error: describeError(err) });
        await sleep(delayMs, undefined, { signal: this.lifetime.signal }).catch(() => undefined);
      }
    }
  }

  private async onSyncReply(reply: Msg): Promise<void> {
    const json = parseJson(reply.data);
    const plain = json.ok ? (json.value as { desired?: unknown } | null) : null;
    if (plain === null || typeof plain !== 'object' || !('desired' in plain)) {
      this.logger.warn('ignoring malformed sync reply', { reason: json.ok ? 'expected { desired }' : json.reason });
      return;
    }
    if (plain.desired === null) return;
    const parsed = await validateSwapCommand(plain.desired, 'desired command');
    if (!parsed.ok) {
      this.logger.warn('ignoring invalid sync reply', { reason: parsed.reason });
      return;
    }
    const desired = parsed.value;
    const inProgress = [this.queue.running, this.queue.pending].some((job) => job?.command.modelId === desired.modelId);
    if (inProgress) return;
    if (desired.modelId === this.activeModelId) {
      this.repeatOutcome(desired, reply);
      return;
    }
    this.logger.info('sync names another model; swapping', { modelId: desired.modelId, activeModelId: this.activeModelId });
    this.remember(desired.commandId);
    this.queue.submit(this.job(desired, reply, 'sync'));
  }

  // --- commands -------------------------------------------------------------------------------

  private async onCommand(msg: Msg): Promise<void> {
    const receivedAt = performance.now();
    const { commandId, result } = await parseCommand(msg.data);
    if (!result.ok) {
      this.logger.warn('rejected a malformed command', { commandId, reason: result.reason });
      this.ack(msg, { commandId, accepted: false, reason: result.reason });
      return;
    }
    const command = result.value;
    if (this.seenCommands.has(command.commandId)) {
      this.ack(msg, { commandId: command.commandId, accepted: true, reason: 'duplicate' });
      return;
    }
    if (this.state !== 'started') {
      this.ack(msg, { commandId: command.commandId, accepted: false, reason: 'the agent is stopping' });
      return;
    }
    this.remember(command.commandId);
    this.ack(msg, { commandId: command.commandId, accepted: true });
    this.queue.submit(this.job(command, msg, 'command', receivedAt));
  }

  private job(command: SwapCommand, msg: Msg, source: SwapJob['source'], receivedAt = performance.now()): SwapJob {
    const incoming = msg.headers?.get('traceparent');
    // The command's own traceparent: the job's `device.update` span continues it.
    const traceparent = incoming && parseTraceparent(incoming) ? incoming : newTraceparent();
    return { command, receivedAt, traceparent, source };
  }

  private ack(msg: Msg, ack: CommandAck): void {
    if (msg.reply === undefined) {
      this.logger.warn('command without a reply subject; cannot acknowledge', { commandId: ack.commandId });
      return;
    }
    msg.respond(JSON.stringify(ack), { headers: traceHeaders(msg.headers?.get('traceparent')) });
  }

  private remember(commandId: string, outcome?: DeviceStatusReport): void {
    this.seenCommands.set(commandId, outcome);
    if (this.seenCommands.size > SEEN_COMMANDS_LIMIT) {
      const oldest = this.seenCommands.keys().next().value;
      if (oldest !== undefined) this.seenCommands.delete(oldest);
    }
  }

  // --- reports --------------------------------------------------------------------------------

  private reportStatus(job: SwapJob, update: StatusUpdate): void {
    const { command } = job;
    const report: DeviceStatusReport = {
      deviceId: this.deviceId,
      commandId: command.commandId,
      ...(command.distributionId ? { distributionId: command.distributionId } : {}),
      modelId: command.modelId,
      phase: update.phase,
      ...(update.reason !== undefined ? { reason: update.reason.slice(0, 2000) } : {}),
      ...(update.timings ? { timings: update.timings } : {}),
      at: this.clock().toISOString(),
    };
    const log = update.phase === 'failed' ? this.logger.warn : this.logger.debug;
    log.call(this.logger, `swap ${update.phase}`, { commandId: command.commandId, modelId: command.modelId, reason: update.reason, timings: update.timings });
    this.publish(DeviceSubjects.status(this.deviceId), report, job.traceparent);
    if (update.phase === 'swapped' || update.phase === 'failed') this.remember(command.commandId, report);
  }

  /**
   * Sync names the model already serving: the control plane may still wait for that command's
   * outcome, whose report was lost (e.g. the link to the hub was down when it was published), so
   * it is sent again. The distributor records each outcome once, so repeating it is harmless.
   */
  private repeatOutcome(desired: SwapCommand, reply: Msg): void {
    const known = this.seenCommands.get(desired.commandId);
    const report: DeviceStatusReport = known
      ? { ...known, at: this.clock().toISOString() }
      : {
        deviceId: this.deviceId, commandId: desired.commandId, modelId: desired.modelId, phase: 'swapped',
        ...(desired.distributionId ? { distributionId: desired.distributionId } : {}),
        reason: 'already active', timings: { totalMs: 0 }, at: this.clock().toISOString(),
      };
    this.publish(DeviceSubjects.status(this.deviceId), report, reply.headers?.get('traceparent') || undefined);
  }

  private publishHeartbeat(): void {
    // The registry refuses heartbeats of a device it does not know yet; a fleet connecting at once would flood it.
    if (!this.registered) return;
    const heartbeat: Heartbeat = {
      deviceId: this.deviceId,
      ...(this.activeModelId ? { activeModelId: this.activeModelId } : {}),
      at: this.clock().toISOString(),
    };
    this.publish(DeviceSubjects.heartbeat(this.deviceId), heartbeat);
  }

  private publishTelemetry(): void {
    for (const window of this.stats.drain(this.clock())) this.publish(DeviceSubjects.telemetry(this.deviceId), window);
  }

  private publish(subject: string, payload: unknown, traceparent?: string): void {
    const nc = this.nc;
    if (nc === undefined || nc.isClosed() || nc.isDraining()) return;
    try {
      nc.publish(subject, JSON.stringify(payload), { headers: traceHeaders(undefined, traceparent) });
    } catch (err) {
      this.logger.debug('publish failed', { subject, error: describeError(err) });
    }
  }

  /** Exponential, with jitter: devices cut off together (a server restart) must not retry in lockstep. */
  private backoff(attempt: number): number {
    const delayMs = Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), this.opts.retryMaxDelayMs);
    return Math.round(delayMs * (0.5 + Math.random() / 2));
  }
}

/** Headers carrying `traceparent`: the given one, a child of the parent, or a new trace. */
function traceHeaders(parent?: string, exact?: string) {
  const h = headers();
  h.set('traceparent', exact ?? (parent && parseTraceparent(parent) ? childTraceparent(parent) : newTraceparent()));
  return h;
}

/** `nats://user:pass@host` → `nats://***@host`, for logs. */
function withoutUserInfo(server: string): string {
  return server.replace(/\/\/[^@/]*@/, '//***@');
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

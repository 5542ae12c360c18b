/**
 * The NATS transport of artifacts (issue 8): devices with no HTTP route (sites reachable only
 * through their leaf node) ask for their model's bytes chunk by chunk on their own
 * `hotswap.device.<id>.artifact` subject, which their credentials allow; the registry, owner of the
 * artifact store, answers with a ranged read. One queue group, so replicas share the load.
 */
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { headers as natsHeaders, type Msg, type Subscription } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import {
  ARTIFACT_CHUNK_HEADERS, ArtifactChunkRequest, DESIRED_STATE_BUCKET, DeviceSubjects, deviceIdOfSubject, queueGroup, Services,
  type ModelArtifactView,
} from '@hotswap/contracts';
import {
  ArtifactNotFoundError, assertValidArtifactKey, InvalidArtifactKeyError, SERVICE_RUNTIME, validateWith, type ServiceRuntime,
} from '@hotswap/infrastructure';
import { ModelsReadModel } from '../projections/models/models.read-model.js';

export const ARTIFACT_TRANSFER_OPTIONS = Symbol('ARTIFACT_TRANSFER_OPTIONS');

export interface ArtifactTransferOptions {
  /** Largest chunk a device may ask for, in bytes; also capped by the server's `max_payload`. Default 1 MiB. */
  readonly maxChunkBytes: number;
  /** How long a model's artifact lookup, and a device's desired model, are reused across chunks, in ms. Default 2000. */
  readonly lookupCacheMs: number;
  /**
   * Serve a device only the artifact of its desired model (the `hotswap-desired` KV entry the
   * distributor writes before every swap command and answers `sync` from). Default true; false
   * serves any known model version's artifact to any device.
   */
  readonly desiredModelOnly: boolean;
}

export const DEFAULT_ARTIFACT_TRANSFER_OPTIONS: ArtifactTransferOptions = { maxChunkBytes: 1024 * 1024, lookupCacheMs: 2_000, desiredModelOnly: true };

/** Room left in a message for the reply's headers. */
const HEADER_ROOM = 1024;

type Code = 'BAD_REQUEST' | 'NOT_FOUND' | 'FORBIDDEN' | 'INTERNAL';

class Refusal extends Error {
  constructor(readonly code: Code, message: string) {
    super(message);
  }
}

const validateRequest = validateWith(ArtifactChunkRequest);

@Injectable()
export class ArtifactTransferResponder implements OnModuleInit, OnModuleDestroy {
  private subscription?: Subscription;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly lookups = new Map<string, { at: number; artifact: Promise<ModelArtifactView | undefined> }>();
  private readonly desired = new Map<string, { at: number; modelId: Promise<string | undefined> }>();
  private desiredBucket?: Promise<KV>;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(ARTIFACT_TRANSFER_OPTIONS) private readonly options: ArtifactTransferOptions,
    private readonly models: ModelsReadModel,
  ) {}

  /** The largest chunk served: the configured one, within what one NATS message can carry. */
  get maxChunkBytes(): number {
    const maxPayload = this.runtime.nats.info?.max_payload ?? 1024 * 1024;
    return Math.min(this.options.maxChunkBytes, maxPayload - HEADER_ROOM);
  }

  async onModuleInit(): Promise<void> {
    // Raw NATS rather than the JSON bus: the replies are bytes.
    this.subscription = this.runtime.nats.subscribe(DeviceSubjects.all.artifact, {
      queue: queueGroup(Services.modelRegistry),
      callback: (err, msg) => {
        if (err !== null) {
          this.runtime.logger.error('artifact transfer subscription error', { error: err.message });
          return;
        }
        const done = this.answer(msg).finally(() => this.inFlight.delete(done));
        this.inFlight.add(done);
      },
    });
    await this.runtime.nats.flush();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.subscription && !this.subscription.isClosed() && !this.runtime.nats.isClosed()) await this.subscription.drain();
    await Promise.allSettled([...this.inFlight]);
  }

  private async answer(msg: Msg): Promise<void> {
    if (!msg.reply) return;
    const deviceId = deviceIdOfSubject(msg.subject);
    try {
      const { bytes, sizeBytes } = await this.chunk(msg, deviceId);
      const h = natsHeaders();
      h.set(ARTIFACT_CHUNK_HEADERS.size, String(sizeBytes));
      msg.respond(bytes, { headers: h });
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal('INTERNAL', `the chunk could not be read: ${(error as Error).message}`);
      if (refusal.code === 'FORBIDDEN' || refusal.code === 'INTERNAL') {
        this.runtime.logger.warn('artifact chunk refused', { deviceId, subject: msg.subject, code: refusal.code, reason: refusal.message });
      }
      const h = natsHeaders();
      h.set(ARTIFACT_CHUNK_HEADERS.errorCode, refusal.code);
      // Header values are one line.
      h.set(ARTIFACT_CHUNK_HEADERS.error, refusal.message.replace(/[\r\n]+/g, ' ').slice(0, 500));
      try {
        msg.respond(new Uint8Array(0), { headers: h });
      } catch (respondError) {
        this.runtime.logger.warn('artifact chunk refusal could not be sent', { deviceId, error: (respondError as Error).message });
      }
    }
  }

  private async chunk(msg: Msg, deviceId: string | undefined): Promise<{ bytes: Buffer; sizeBytes: number }> {
    if (deviceId === undefined) throw new Refusal('BAD_REQUEST', `${msg.subject} is not a device's artifact subject`);
    let payload: unknown;
    try {
      payload = JSON.parse(msg.string());
    } catch (error) {
      throw new Refusal('BAD_REQUEST', `malformed JSON: ${(error as Error).message}`);
    }
    const checked = await validateRequest(payload);
    if (!checked.ok) throw new Refusal('BAD_REQUEST', checked.reason);
    const request = checked.value;
    try {
      assertValidArtifactKey(request.artifactKey);
    } catch (error) {
      if (error instanceof InvalidArtifactKeyError) throw new Refusal('BAD_REQUEST', error.message);
      throw error;
    }
    const max = this.maxChunkBytes;
    if (request.length > max) throw new Refusal('BAD_REQUEST', `length ${request.length} exceeds the largest chunk, ${max} bytes`);
    const artifact = await this.lookup(request.modelId);
    if (artifact === undefined) throw new Refusal('NOT_FOUND', `model ${request.modelId} not found`);
    if (this.options.desiredModelOnly) {
      let desired = await this.desiredModelOf(deviceId);
      // A new rollout may have changed it since it was cached: look again before refusing.
      if (desired !== request.modelId) desired = await this.desiredModelOf(deviceId, true);
      if (desired !== request.modelId) {
        throw new Refusal('FORBIDDEN', `device ${deviceId} was not sent model ${request.modelId} (its desired model is ${desired ?? 'none'})`);
      }
    }
    // A device may read a known model version's artifact only, by that exact key: never another file of the store.
    if (artifact.artifactKey !== request.artifactKey) {
      throw new Refusal('FORBIDDEN', `${request.artifactKey} is not the artifact of model ${request.modelId}`);
    }
    if (request.offset >= artifact.sizeBytes) {
      throw new Refusal('BAD_REQUEST', `offset ${request.offset} is beyond the artifact's ${artifact.sizeBytes} bytes`);
    }
    const end = Math.min(request.offset + request.length, artifact.sizeBytes);
    let bytes: Buffer;
    try {
      bytes = await readAll(await this.runtime.artifacts.get(request.artifactKey, { start: request.offset, end: end - 1 }));
    } catch (error) {
      if (error instanceof ArtifactNotFoundError) {
        this.lookups.delete(request.modelId);
        throw new Refusal('NOT_FOUND', `the artifact of model ${request.modelId} is no longer stored`);
      }
      throw error;
    }
    if (bytes.length !== end - request.offset) throw new Error(`the store returned ${bytes.length} bytes for ${end - request.offset}`);
    return { bytes, sizeBytes: artifact.sizeBytes };
  }

  /** A model's artifact, reused for a moment: a transfer asks for hundreds of chunks of the same one. */
  private lookup(modelId: string): Promise<ModelArtifactView | undefined> {
    const now = Date.now();
    const cached = this.lookups.get(modelId);
    if (cached && now - cached.at < this.options.lookupCacheMs) return cached.artifact;
    const artifact = this.models.artifact(modelId);
    this.lookups.set(modelId, { at: now, artifact });
    if (this.lookups.size > 1000) this.lookups.delete(this.lookups.keys().next().value as string);
    artifact.catch(() => this.lookups.delete(modelId));
    return artifact;
  }

  /** The model the distributor last told the device to run, reused for a moment like `lookup`. */
  private desiredModelOf(deviceId: string, fresh = false): Promise<string | undefined> {
    const now = Date.now();
    const cached = this.desired.get(deviceId);
    if (!fresh && cached && now - cached.at < this.options.lookupCacheMs) return cached.modelId;
    const modelId = this.readDesired(deviceId);
    this.desired.set(deviceId, { at: now, modelId });
    if (this.desired.size > 10_000) this.desired.delete(this.desired.keys().next().value as string);
    modelId.catch(() => this.desired.delete(deviceId));
    return modelId;
  }

  private async readDesired(deviceId: string): Promise<string | undefined> {
    this.desiredBucket ??= new Kvm(this.runtime.nats).open(DESIRED_STATE_BUCKET);
    let entry;
    try {
      entry = await (await this.desiredBucket).get(deviceId);
    } catch (error) {
      // No bucket yet: no distributor has sent anything to anyone.
      this.desiredBucket = undefined;
      this.runtime.logger.warn('the desired-state bucket could not be read', { deviceId, error: (error as Error).message });
      return undefined;
    }
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    const modelId = entry.json<{ modelId?: unknown }>().modelId;
    return typeof modelId === 'string' ? modelId : undefined;
  }
}

async function readAll(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.isBuffer(part) ? part : Buffer.from(part));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

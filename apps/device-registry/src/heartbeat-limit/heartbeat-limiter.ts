import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { HEARTBEAT_LIMIT_OPTIONS, type HeartbeatLimitOptions } from './heartbeat-limit.options.js';

/** KV bucket of the fleet's heartbeat counter, key `w.<minute index>`: tokens reserved so far in that minute. */
export const HEARTBEAT_LIMIT_BUCKET = 'hotswap-heartbeat-limit';
const WINDOW_MS = 60_000;
const MAX_ATTEMPTS = 20;
/** Devices remembered between two flushes; past this, further dropped devices wait for their next admitted heartbeat. */
const MAX_PENDING_SEEN = 100_000;

/**
 * The fleet-wide device heartbeat limit (`perMinute`, all replicas together). Each replica reserves
 * tokens from a fixed-window counter in NATS KV in blocks of `blockSize` (one compare-and-set per
 * block, not per heartbeat); a replica's unused tokens lapse with the minute, so the fleet may get
 * up to (replicas × blockSize) fewer than the limit, never more.
 *
 * A dropped heartbeat is not processed (no read-model write of its own, no event), but the device
 * is remembered and all such devices are marked seen in one statement every `seenFlushIntervalMs`.
 * So offline detection stays true under overload: a device that keeps sending is never flipped
 * Offline because its heartbeats were dropped, and one that falls silent still goes Offline. An
 * Offline device whose heartbeats are dropped stays Offline until one is admitted (that transition
 * is an event). If the counter cannot be reached, heartbeats are admitted (fail open): wrongly
 * flipping devices offline is worse than a burst of writes.
 */
@Injectable()
export class HeartbeatLimiter implements OnModuleInit, OnModuleDestroy {
  private kv?: KV;
  private window = -1;
  private tokens = 0;
  private exhausted = false;
  private reserving?: Promise<void>;
  private droppedInWindow = 0;
  private readonly pendingSeen = new Set<string>();
  private flushTimer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  /** Heartbeats dropped since start. */
  dropped = 0;
  /** KV updates made to reserve tokens since start. */
  reservations = 0;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(HEARTBEAT_LIMIT_OPTIONS) private readonly options: HeartbeatLimitOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.options.perMinute === 0) return;
    const kvm = new Kvm(this.runtime.nats);
    try {
      this.kv = await kvm.create(HEARTBEAT_LIMIT_BUCKET, { history: 1, ttl: 2 * WINDOW_MS });
    } catch (error) {
      if (!(error instanceof JetStreamApiError)) throw error;
      this.kv = await kvm.open(HEARTBEAT_LIMIT_BUCKET);
    }
    this.flushTimer = setInterval(() => void this.flushSeen(), this.options.seenFlushIntervalMs);
    this.flushTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushSeen();
  }

  /** Whether this heartbeat of `deviceId` may be processed; a dropped one is counted and its device remembered as seen. */
  async admit(deviceId: string): Promise<boolean> {
    if (this.kv === undefined) return true;
    for (;;) {
      this.enterWindow(Math.floor(this.runtime.clock().getTime() / WINDOW_MS));
      if (this.tokens > 0) {
        this.tokens -= 1;
        return true;
      }
      if (this.exhausted) return this.drop(deviceId);
      const window = this.window;
      this.reserving ??= this.reserve(window).finally(() => { this.reserving = undefined; });
      await this.reserving;
    }
  }

  /** Writes the last-seen time of every device whose heartbeat was dropped since the last flush. */
  flushSeen(): Promise<void> {
    this.flushing ??= (async () => {
      const ids = [...this.pendingSeen];
      this.pendingSeen.clear();
      if (ids.length === 0) return;
      try {
        // Offline devices stay Offline: coming back is an event, recorded by an admitted heartbeat.
        // Rows are locked in id order, as the projection's batches lock them, to avoid deadlocks.
        await this.runtime.db.query(
          `UPDATE registry_devices SET last_heartbeat = GREATEST(coalesce(last_heartbeat, $2), $2)
           WHERE id IN (SELECT id FROM registry_devices WHERE id = ANY($1) AND status <> 'Offline' ORDER BY id FOR UPDATE)`,
          [ids.sort(), this.runtime.clock().toISOString()],
        );
      } catch (error) {
        // Kept for the next flush: a device must not go Offline because one write failed.
        for (const id of ids) this.pendingSeen.add(id);
        this.runtime.logger.warn('could not mark rate-limited devices as seen; retrying at the next flush', { devices: ids.length, error: String(error) });
      }
    })().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  private enterWindow(window: number): void {
    if (window === this.window) return;
    if (this.droppedInWindow > 0) {
      this.runtime.logger.warn('dropped device heartbeats', {
        reason: `fleet heartbeat limit of ${this.options.perMinute}/min reached`, dropped: this.droppedInWindow,
        minute: new Date(this.window * WINDOW_MS).toISOString(),
      });
    }
    this.window = window;
    this.tokens = 0;
    this.exhausted = false;
    this.droppedInWindow = 0;
  }

  private drop(deviceId: string): false {
    this.dropped += 1;
    if (this.droppedInWindow === 0) {
      this.runtime.logger.warn('dropping device heartbeats', {
        reason: `fleet heartbeat limit of ${this.options.perMinute}/min reached`, minute: new Date(this.window * WINDOW_MS).toISOString(),
      });
    }
    this.droppedInWindow += 1;
    if (this.pendingSeen.size < MAX_PENDING_SEEN) this.pendingSeen.add(deviceId);
    return false;
  }

  /** Takes up to `blockSize` tokens of `window` from the shared counter (compare-and-set, retried on conflict). */
  private async reserve(window: number): Promise<void> {
    const key = `w.${window}`;
    const { perMinute, blockSize } = this.options;
    let granted = 0;
    try {
      for (let attempt = 1; ; attempt += 1) {
        try {
          const entry = await this.kv!.get(key);
          const used = entry === null || entry.operation !== 'PUT' ? 0 : Number(entry.string());
          granted = Math.max(0, Math.min(blockSize, perMinute - used));
          if (granted === 0) break;
          if (entry === null || entry.operation !== 'PUT') await this.kv!.create(key, String(granted));
          else await this.kv!.update(key, String(used + granted), entry.revision);
          this.reservations += 1;
          break;
        } catch (error) {
          if (!isConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
        }
      }
    } catch (error) {
      this.runtime.logger.warn('heartbeat limit counter unavailable; admitting heartbeats', { error: String(error) });
      granted = blockSize;
    }
    if (window !== this.window) return;
    this.tokens += granted;
    if (granted === 0) this.exhausted = true;
  }
}

function isConflict(error: unknown): boolean {
  return error instanceof JetStreamApiError
    && (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

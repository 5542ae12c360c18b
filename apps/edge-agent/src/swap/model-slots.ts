/**
 * The active-model pointer. Each loaded session lives in a slot that counts its in-flight
 * inferences; a swap only moves the pointer, so requests already running finish on the session
 * they started on, and a retired session is released once the grace period has passed and its
 * last request has finished.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { InstalledModel } from './model-store.js';
import type { SessionLease } from './session-cache.js';
import type { Feeds, InputSpec, TensorData } from './tensors.js';

export class ModelSlot {
  private inFlightCount = 0;
  private idleWaiters: Array<() => void> = [];
  private released = false;

  constructor(
    readonly model: InstalledModel,
    private readonly lease: SessionLease,
  ) {}

  get modelId(): string {
    return this.model.modelId;
  }

  get inputs(): readonly InputSpec[] {
    return this.lease.session.inputs;
  }

  get outputNames(): readonly string[] {
    return this.lease.session.outputNames;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  async run(feeds: Feeds, transfer = false): Promise<Record<string, TensorData>> {
    this.inFlightCount++;
    try {
      return await this.lease.session.run(feeds, transfer);
    } finally {
      this.inFlightCount--;
      if (this.inFlightCount === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Resolves once no inference is running on this slot. */
  idle(): Promise<void> {
    return this.inFlightCount === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Gives the session back once idle; later calls do nothing. */
  async release(): Promise<void> {
    await this.idle();
    if (this.released) return;
    this.released = true;
    await this.lease.release();
  }
}

export class ModelSlots {
  private activeSlot: ModelSlot | undefined;
  private readonly retiring = new Set<Promise<void>>();
  /** Cuts grace periods short when the agent stops. */
  private readonly closing = new AbortController();

  get active(): ModelSlot | undefined {
    return this.activeSlot;
  }

  /** Moves the pointer to `slot` and returns the slot that was active. */
  activate(slot: ModelSlot): ModelSlot | undefined {
    const previous = this.activeSlot;
    this.activeSlot = slot;
    return previous;
  }

  /** Releases `slot` after `graceMs`, once its in-flight count is zero. Errors go to `onError`. */
  retire(slot: ModelSlot, graceMs: number, onError: (err: unknown) => void): void {
    const done = sleep(graceMs, undefined, { signal: this.closing.signal })
      .catch(() => undefined)
      .then(() => slot.release())
      .catch(onError)
      .finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }

  /** Releases retiring sessions without waiting for their grace, then the active one, each once idle. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.all(this.retiring);
    const active = this.activeSlot;
    this.activeSlot = undefined;
    await active?.release();
  }
}

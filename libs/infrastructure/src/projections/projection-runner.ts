/**
 * Runs a projection: subscribes to all commits after its checkpoint, applies the waiting ones (up
 * to `batchSize`, in order) and moves the checkpoint in one transaction. A crash at any point
 * either keeps both or neither, so a restart replays from the checkpoint and the read model counts
 * every commit exactly once. Commits without an event the projection handles (`eventTypes`) take
 * no transaction: the checkpoint moves past them with the next applied batch or after
 * `checkpointIntervalMs`; a restart before that skips them again.
 */
import type { EventStore, StoredEvent, Subscription } from '../event-store/event-store.port.js';
import type { SqlDatabase } from '../read-model/sql-database.js';
import type { Projection } from './projection.js';

export interface ProjectionRunnerOptions {
  readonly store: EventStore;
  readonly db: SqlDatabase;
  readonly projection: Projection;
  /** Wait before re-subscribing after a commit failed to apply, in ms. Default 1000. */
  readonly retryDelayMs?: number;
  /** Told about every failure; the runner retries the failed commit after `retryDelayMs`. Default: console.error. */
  readonly onError?: (error: ProjectionError) => void;
  /** Most commits applied in one transaction when several are waiting. Default 100. */
  readonly batchSize?: number;
  /** Longest time the checkpoint may stay behind skipped commits before it is written, in ms. Default 1000. */
  readonly checkpointIntervalMs?: number;
}

export class ProjectionError extends Error {
  override readonly name: string = 'ProjectionError';
  /** The position of the commit whose apply failed, when one did. */
  readonly position: bigint | undefined;
  constructor(
    readonly projection: string,
    message: string,
    options?: { cause?: unknown; position?: bigint },
  ) {
    super(`projection ${projection}: ${message}`, options);
    this.position = options?.position;
  }
}

/** `waitForPosition` ran out of time. */
export class ProjectionTimeoutError extends ProjectionError {
  override readonly name = 'ProjectionTimeoutError';
}

export const CHECKPOINTS_TABLE = 'projection_checkpoints';

interface Waiter {
  readonly position: bigint;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class ProjectionRunner {
  private readonly store: EventStore;
  private readonly db: SqlDatabase;
  private readonly projection: Projection;
  private readonly retryDelayMs: number;
  private readonly batchSize: number;
  private readonly checkpointIntervalMs: number;
  private readonly handled: ReadonlySet<string> | undefined;
  private subscription: Subscription | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Every commit up to here is applied (durably) or needs no applying. */
  private checkpoint = 0n;
  /** The checkpoint last known to be stored. */
  private stored = 0n;
  private running = false;
  private waiters: Waiter[] = [];
  /** Commits delivered and not applied yet, each tagged with the subscription that delivered it. */
  private queue: { readonly events: readonly StoredEvent[]; readonly generation: number }[] = [];
  /** Bumped on every (re)subscription: commits of an abandoned subscription are dropped. */
  private generation = 0;
  private draining: Promise<void> | undefined;
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly options: ProjectionRunnerOptions) {
    ({ store: this.store, db: this.db, projection: this.projection } = options);
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.batchSize = options.batchSize ?? 100;
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 1_000;
    this.handled = options.projection.eventTypes && new Set(options.projection.eventTypes);
    if (!options.projection.name) throw new ProjectionError('(unnamed)', 'a projection needs a name');
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new ProjectionError(options.projection.name, `batchSize must be an integer >= 1, got ${this.batchSize}`);
    }
  }

  /** The position of the last commit applied (or found already applied, or skipped). */
  get position(): bigint {
    return this.checkpoint;
  }

  /** Runs the migrations, loads the checkpoint and starts following the store. */
  async start(): Promise<void> {
    if (this.running) return;
    const { name, migrations } = this.projection;
    await this.db.transaction(async (tx) => {
      // Replicas starting together must not run the same DDL concurrently (PostgreSQL can fail
      // two concurrent CREATE TABLE IF NOT EXISTS with a unique violation).
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['hotswap:projection-migrations']);
      await tx.exec(`CREATE TABLE IF NOT EXISTS ${CHECKPOINTS_TABLE} (name text PRIMARY KEY, position bigint NOT NULL)`);
      for (const [index, sql] of migrations.entries()) {
        await tx.exec(sql).catch((cause: unknown) => {
          throw new ProjectionError(name, `migration ${index} failed`, { cause });
        });
      }
      await tx.query(`INSERT INTO ${CHECKPOINTS_TABLE} (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING`, [name]);
    });
    this.checkpoint = this.stored = await this.readCheckpoint();
    this.running = true;
    await this.subscribe();
  }

  /**
   * Stops following the store once the batch being applied is done, and stores the checkpoint
   * reached by skipping. Pending waits are rejected.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.abandonQueue();
    clearTimeout(this.retryTimer);
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close();
    await this.draining;
    await this.storeCheckpoint().catch(() => undefined);
    for (const waiter of this.waiters.splice(0)) {
      waiter.reject(new ProjectionError(this.projection.name, `stopped at position ${this.checkpoint} before reaching ${waiter.position}`));
    }
  }

  /**
   * Resolves once the projection has applied every commit up to `position` (read-your-writes:
   * pass the position an append returned). Rejects with ProjectionTimeoutError after `timeoutMs`.
   */
  waitForPosition(position: bigint, timeoutMs = 5_000): Promise<void> {
    if (this.checkpoint >= position) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new ProjectionTimeoutError(this.projection.name, `did not reach position ${position} within ${timeoutMs} ms (at ${this.checkpoint})`));
      }, timeoutMs);
      const waiter: Waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.push(waiter);
    });
  }

  private async subscribe(): Promise<void> {
    const generation = ++this.generation;
    try {
      const subscription = await this.store.subscribeAll({
        fromPosition: this.checkpoint,
        onCommit: (events) => this.enqueue(events, generation),
        onError: (error) => {
          if (generation === this.generation) this.fail(error);
        },
      });
      // stop() may have run while subscribing.
      if (this.running) this.subscription = subscription;
      else await subscription.close();
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Queues a delivered commit and returns at once, so commits arriving while a batch is applied
   * form the next batch. Holds the subscription back once two batches are waiting.
   */
  private async enqueue(events: readonly StoredEvent[], generation: number): Promise<void> {
    if (!this.running || generation !== this.generation) return;
    this.queue.push({ events, generation });
    this.drain();
    while (this.queue.length >= 2 * this.batchSize && generation === this.generation) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /** Applies queued commits batch by batch until the queue is empty; one drain at a time. */
  private drain(): void {
    if (this.draining) return;
    this.draining = (async () => {
      try {
        while (this.running && this.queue.length > 0) {
          const batch = this.queue.splice(0, this.batchSize);
          this.makeRoom();
          const { generation } = batch[0];
          try {
            await this.applyBatch(batch.map((c) => c.events));
          } catch (error) {
            // A failure of a batch an earlier failure already abandoned was reported then.
            if (generation === this.generation) this.fail(error);
          }
        }
      } finally {
        this.draining = undefined;
      }
    })();
  }

  /** Drops the queued commits and releases a subscription waiting for room. */
  private abandonQueue(): void {
    this.generation++;
    this.queue = [];
    this.makeRoom();
  }

  private makeRoom(): void {
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }

  private report(error: unknown): void {
    const report = this.options.onError ?? ((e: ProjectionError) => console.error(e));
    report(error instanceof ProjectionError ? error : new ProjectionError(this.projection.name, `failed at position ${this.checkpoint}`, { cause: error }));
  }

  /** Reports a failure and re-subscribes from the checkpoint after a pause. */
  private fail(error: unknown): void {
    this.report(error);
    this.abandonQueue();
    const broken = this.subscription;
    this.subscription = undefined;
    if (!this.running) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      void broken?.close().catch(() => undefined);
      if (this.running) void this.resubscribe();
    }, this.retryDelayMs);
  }

  private async resubscribe(): Promise<void> {
    try {
      // Another replica may be further; our own in-memory checkpoint may be ahead of the stored one.
      const stored = await this.readCheckpoint();
      if (stored > this.stored) this.stored = stored;
      this.advance(stored);
    } catch (error) {
      this.fail(error);
      return;
    }
    await this.subscribe();
  }

  /**
   * Applies a batch in one transaction. When a commit in it fails, the commits before it are
   * applied on their own (so a poison commit does not hold back the ones before it) and the
   * failure, naming that commit, is rethrown.
   */
  private async applyBatch(batch: readonly (readonly StoredEvent[])[]): Promise<void> {
    try {
      await this.commitBatch(batch);
    } catch (error) {
      const failed = error instanceof ProjectionError && error.position !== undefined ? batch.findIndex((events) => events[0].position === error.position) : -1;
      if (failed > 0) await this.commitBatch(batch.slice(0, failed));
      throw error;
    }
  }

  private async commitBatch(batch: readonly (readonly StoredEvent[])[]): Promise<void> {
    const { name } = this.projection;
    const last = batch[batch.length - 1][0].position;
    const relevant = this.handled ? batch.filter((events) => events.some((e) => this.handled!.has(e.type))) : batch;
    if (relevant.length === 0) {
      this.advance(last);
      this.scheduleCheckpoint();
      return;
    }
    const reached = await this.db.transaction(async (tx) => {
      // The row lock serialises replicas; a commit at or below the checkpoint was applied already.
      const { rows } = await tx.query<{ position: number | string }>(`SELECT position FROM ${CHECKPOINTS_TABLE} WHERE name = $1 FOR UPDATE`, [name]);
      const current = BigInt(rows[0]?.position ?? 0);
      if (current >= last) return current;
      for (const events of relevant) {
        const position = events[0].position;
        if (position <= current) continue;
        try {
          await this.projection.apply(tx, events);
        } catch (cause) {
          throw new ProjectionError(name, `apply failed for the commit at position ${position} (${events[0].stream} v${events[0].streamVersion})`, { cause, position });
        }
      }
      await tx.query(`UPDATE ${CHECKPOINTS_TABLE} SET position = $2 WHERE name = $1`, [name, last.toString()]);
      return last;
    });
    if (reached > this.stored) this.stored = reached;
    this.advance(reached);
  }

  /** Stores, after `checkpointIntervalMs`, a checkpoint that moved past skipped commits only. */
  private scheduleCheckpoint(): void {
    if (this.flushTimer || !this.running) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      // Nothing is lost if this fails: the next applied batch stores a later checkpoint anyway.
      this.storeCheckpoint().catch((error: unknown) => this.report(error));
    }, this.checkpointIntervalMs);
  }

  private async storeCheckpoint(): Promise<void> {
    const position = this.checkpoint;
    if (position <= this.stored) return;
    // Only ever forward: a replica may have stored a later position meanwhile.
    await this.db.query(`UPDATE ${CHECKPOINTS_TABLE} SET position = $2 WHERE name = $1 AND position < $2`, [this.projection.name, position.toString()]);
    if (position > this.stored) this.stored = position;
  }

  private advance(position: bigint): void {
    if (position <= this.checkpoint) return;
    this.checkpoint = position;
    const due = this.waiters.filter((w) => w.position <= position);
    this.waiters = this.waiters.filter((w) => w.position > position);
    for (const waiter of due) waiter.resolve();
  }

  private async readCheckpoint(): Promise<bigint> {
    const { rows } = await this.db.query<{ position: number | string }>(`SELECT position FROM ${CHECKPOINTS_TABLE} WHERE name = $1`, [this.projection.name]);
    return BigInt(rows[0]?.position ?? 0);
  }
}

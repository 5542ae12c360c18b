/**
 * Runs a projection: subscribes to all commits after its checkpoint and, for each, applies it and
 * moves the checkpoint in one transaction. A crash at any point either keeps both or neither, so
 * a restart replays from the checkpoint and the read model counts every commit exactly once.
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
}

export class ProjectionError extends Error {
  override readonly name: string = 'ProjectionError';
  constructor(
    readonly projection: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`projection ${projection}: ${message}`, options);
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
  private subscription: Subscription | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private checkpoint = 0n;
  private running = false;
  private waiters: Waiter[] = [];

  constructor(private readonly options: ProjectionRunnerOptions) {
    ({ store: this.store, db: this.db, projection: this.projection } = options);
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    if (!options.projection.name) throw new ProjectionError('(unnamed)', 'a projection needs a name');
  }

  /** The position of the last commit applied (or found already applied). */
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
    this.checkpoint = await this.readCheckpoint();
    this.running = true;
    await this.subscribe();
  }

  /** Stops following the store once the commit being applied is done. Pending waits are rejected. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close();
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
    try {
      const subscription = await this.store.subscribeAll({
        fromPosition: this.checkpoint,
        onCommit: (events) => this.applyCommit(events),
        onError: (error) => this.fail(error),
      });
      // stop() may have run while subscribing.
      if (this.running) this.subscription = subscription;
      else await subscription.close();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Reports a failure and re-subscribes from the checkpoint after a pause. */
  private fail(error: unknown): void {
    const { name } = this.projection;
    const report = this.options.onError ?? ((e: ProjectionError) => console.error(e));
    report(error instanceof ProjectionError ? error : new ProjectionError(name, `failed at position ${this.checkpoint}`, { cause: error }));
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
      this.checkpoint = await this.readCheckpoint();
    } catch (error) {
      this.fail(error);
      return;
    }
    await this.subscribe();
  }

  private async applyCommit(events: readonly StoredEvent[]): Promise<void> {
    const { name } = this.projection;
    const position = events[0].position;
    const reached = await this.db.transaction(async (tx) => {
      // The row lock serialises replicas; a commit at or below the checkpoint was applied already.
      const { rows } = await tx.query<{ position: number | string }>(`SELECT position FROM ${CHECKPOINTS_TABLE} WHERE name = $1 FOR UPDATE`, [name]);
      const current = BigInt(rows[0]?.position ?? 0);
      if (current >= position) return current;
      try {
        await this.projection.apply(tx, events);
      } catch (cause) {
        throw new ProjectionError(name, `apply failed for the commit at position ${position} (${events[0].stream} v${events[0].streamVersion})`, { cause });
      }
      await tx.query(`UPDATE ${CHECKPOINTS_TABLE} SET position = $2 WHERE name = $1`, [name, position.toString()]);
      return position;
    });
    this.advance(reached);
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

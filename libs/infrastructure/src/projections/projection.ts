import type { HotSwapEventType } from '@hotswap/contracts';
import type { StoredEvent } from '../event-store/event-store.port.js';
import type { SqlExecutor } from '../read-model/sql-database.js';

/**
 * A read model fed by the event store. The runner calls `apply` once per commit, in position order,
 * inside the transaction that also moves the projection's checkpoint (one transaction may hold
 * several commits), so each commit counts exactly once.
 */
export interface Projection {
  /** Unique name; the key of its checkpoint row. */
  readonly name: string;
  /**
   * SQL scripts run in order on every start, so each must be idempotent
   * (`CREATE TABLE IF NOT EXISTS`, `CREATE INDEX IF NOT EXISTS`, `ALTER TABLE ... ADD COLUMN IF NOT EXISTS`).
   */
  readonly migrations: readonly string[];
  /**
   * The event types `apply` acts on. The runner skips a commit holding none of them without a
   * transaction (its checkpoint still moves past it). Omitted: every commit is applied.
   */
  readonly eventTypes?: readonly HotSwapEventType[];
  /** Applies all events of one commit; ignore the types this read model does not need. */
  apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void>;
}

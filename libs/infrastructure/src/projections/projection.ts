import type { StoredEvent } from '../event-store/event-store.port.js';
import type { SqlExecutor } from '../read-model/sql-database.js';

/**
 * A read model fed by the event store. The runner calls `apply` once per commit inside the
 * transaction that also moves the projection's checkpoint, so each commit counts exactly once.
 */
export interface Projection {
  /** Unique name; the key of its checkpoint row. */
  readonly name: string;
  /**
   * SQL scripts run in order on every start, so each must be idempotent
   * (`CREATE TABLE IF NOT EXISTS`, `CREATE INDEX IF NOT EXISTS`, `ALTER TABLE ... ADD COLUMN IF NOT EXISTS`).
   */
  readonly migrations: readonly string[];
  /** Applies all events of one commit; ignore the types this read model does not need. */
  apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void>;
}

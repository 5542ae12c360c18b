/**
 * A projection for exactly-once tests: it records every event it applies in a table without a
 * unique key (so a duplicate shows) and keeps a running total.
 */
import type { HotSwapEventType } from '@hotswap/contracts';
import type { StoredEvent } from '../../event-store/event-store.port.js';
import type { SqlExecutor } from '../../read-model/sql-database.js';
import type { Projection } from '../projection.js';

export interface CountingProjectionOptions {
  /** Projection name, also the prefix of its tables (lowercase, digits, `_`). */
  readonly name: string;
  /** Only events of streams starting with this count. */
  readonly streamPrefix: string;
  /** Sleep inside the transaction after writing, in ms, to widen the window for a crash. */
  readonly applyDelayMs?: number;
  /** Declared to the runner: commits without one of these types are skipped. */
  readonly eventTypes?: readonly HotSwapEventType[];
  /** Called before each commit is applied; throw to make the commit fail. */
  readonly beforeApply?: (events: readonly StoredEvent[]) => void;
}

export function countingProjection(options: CountingProjectionOptions): Projection {
  const { name, streamPrefix } = options;
  return {
    name,
    ...(options.eventTypes && { eventTypes: options.eventTypes }),
    migrations: [
      `CREATE TABLE IF NOT EXISTS ${name}_events (stream text NOT NULL, version int NOT NULL, type text NOT NULL, position bigint NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${name}_totals (id int PRIMARY KEY, events bigint NOT NULL);
       INSERT INTO ${name}_totals (id, events) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`,
    ],
    async apply(tx: SqlExecutor, events: readonly StoredEvent[]) {
      options.beforeApply?.(events);
      for (const event of events) {
        if (!event.stream.startsWith(streamPrefix)) continue;
        await tx.query(`INSERT INTO ${name}_events (stream, version, type, position) VALUES ($1, $2, $3, $4)`, [
          event.stream,
          event.streamVersion,
          event.type,
          event.position.toString(),
        ]);
        await tx.query(`UPDATE ${name}_totals SET events = events + 1 WHERE id = 1`);
      }
      if (options.applyDelayMs) await tx.query('SELECT pg_sleep($1)', [options.applyDelayMs / 1000]);
    },
  };
}

/** What a counting projection holds: the total, and the events counted more than once. */
export async function readCounts(db: SqlExecutor, name: string): Promise<{ total: number; rows: number; duplicates: number }> {
  const [{ rows: totals }, { rows: counts }] = [
    await db.query<{ events: number }>(`SELECT events FROM ${name}_totals WHERE id = 1`),
    await db.query<{ rows: number; distinct_rows: number }>(
      `SELECT count(*) AS rows, count(DISTINCT (stream, version)) AS distinct_rows FROM ${name}_events`,
    ),
  ];
  return { total: totals[0]?.events ?? 0, rows: counts[0].rows, duplicates: counts[0].rows - counts[0].distinct_rows };
}

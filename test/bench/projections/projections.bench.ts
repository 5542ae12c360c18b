/**
 * The projection runner alone: 12 projections (as in the embedded control plane) follow one event
 * store; each commit is handled by 3 of them and ignored by the other 9. Measured three ways:
 * - `one per commit`: batchSize 1, no eventTypes: every projection applies every commit in its own
 *   transaction, as the runner did before batching and skipping;
 * - `batched`: up to 100 commits per transaction, no eventTypes;
 * - `batched + skip`: the same, with eventTypes declared: ignored commits take no transaction.
 * Each on PGlite and PostgreSQL (a fresh schema on DATABASE_URL), for a catch-up (the commits are
 * stored before the runners start) and live (the runners follow appends made 10 at a time).
 * Run: `npm run bench -- projections` (BENCH_COMMITS sets the number of commits, default 1000).
 */
import { describe, expect, it } from '@jest/globals';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { HotSwapEventType } from '@hotswap/contracts';
import {
  JetStreamEventStore, PgDatabase, PgliteDatabase, ProjectionRunner, type Projection, type SqlDatabase, type StoredEvent,
} from '@hotswap/infrastructure';
import { startNatsServer } from '@hotswap/infrastructure/testing';

const COMMITS = Number(process.env['BENCH_COMMITS'] ?? 1000);
const PROJECTIONS = 12;
const HANDLING = 3;
const PG_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

type Mode = 'one per commit' | 'batched' | 'batched + skip';
const MODES: readonly Mode[] = ['one per commit', 'batched', 'batched + skip'];

interface Opened {
  readonly db: SqlDatabase;
  close(): Promise<void>;
}

const databases: Record<'PGlite' | 'PostgreSQL', () => Promise<Opened>> = {
  PGlite: async () => {
    const db = await PgliteDatabase.open();
    return { db, close: () => db.close() };
  },
  PostgreSQL: async () => {
    const schema = `bench_projections_${process.pid}_${Date.now()}`;
    const db = await PgDatabase.connect({ connectionString: PG_URL, schema, maxConnections: 4 });
    return {
      db,
      close: async () => {
        await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.close();
      },
    };
  },
};

/** Projection `k`: the first HANDLING write a row per `DeviceRegistered`; the others want another type. */
function benchProjection(k: number, declare: boolean): Projection {
  const handled: HotSwapEventType = k < HANDLING ? 'DeviceRegistered' : 'DistributionCreated';
  return {
    name: `bench_${k}`,
    ...(declare && { eventTypes: [handled] }),
    migrations: [`CREATE TABLE IF NOT EXISTS bench_${k} (stream text PRIMARY KEY, position bigint NOT NULL)`],
    async apply(tx, events: readonly StoredEvent[]) {
      for (const event of events) {
        if (event.type !== handled) continue;
        await tx.query(`INSERT INTO bench_${k} (stream, position) VALUES ($1, $2) ON CONFLICT (stream) DO NOTHING`, [event.stream, event.position.toString()]);
      }
    },
  };
}

/** Counts the transactions started on `db`. */
function counting(db: SqlDatabase): { db: SqlDatabase; transactions: () => number } {
  let transactions = 0;
  return {
    db: {
      query: (sql, params) => db.query(sql, params),
      exec: (sql) => db.exec(sql),
      close: () => db.close(),
      transaction: (fn) => {
        transactions++;
        return db.transaction(fn);
      },
    },
    transactions: () => transactions,
  };
}

async function append(store: JetStreamEventStore, from: number, count: number): Promise<bigint> {
  let last = 0n;
  for (let i = from; i < from + count; i++) {
    const { position } = await store.append(`device-bench${i}`, [{ type: 'DeviceRegistered', data: { deviceId: `bench${i}` } }], 'any');
    if (position > last) last = position;
  }
  return last;
}

async function run(database: keyof typeof databases, mode: Mode, scenario: 'catch-up' | 'live'): Promise<string> {
  const server = await startNatsServer();
  const store = await JetStreamEventStore.connect({ servers: server.url });
  const opened = await databases[database]();
  const { db, transactions } = counting(opened.db);
  const runners = Array.from({ length: PROJECTIONS }, (_, k) => new ProjectionRunner({
    store, db, projection: benchProjection(k, mode === 'batched + skip'), batchSize: mode === 'one per commit' ? 1 : 100,
  }));
  try {
    let last = 0n;
    if (scenario === 'catch-up') last = await append(store, 0, COMMITS);
    // Each start runs its migrations in one transaction.
    const before = transactions() + PROJECTIONS;
    const started = performance.now();
    await Promise.all(runners.map((r) => r.start()));
    if (scenario === 'live') {
      const lasts = await Promise.all(Array.from({ length: 10 }, (_, w) => append(store, w * (COMMITS / 10), COMMITS / 10)));
      last = lasts.reduce((a, b) => (a > b ? a : b));
    }
    await Promise.all(runners.map((r) => r.waitForPosition(last, 30 * 60_000)));
    const ms = performance.now() - started;
    const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM bench_0');
    expect(rows[0].n).toBe(COMMITS);
    return `| ${database} | ${scenario} | ${mode} | ${Math.round(ms)} ms | ${Math.round((COMMITS / ms) * 1000)} | ${transactions() - before} |`;
  } finally {
    await Promise.all(runners.map((r) => r.stop()));
    await opened.close();
    await store.close();
    await server.stop();
  }
}

describe('projections benchmark', () => {
  it(`applies ${COMMITS} commits with ${PROJECTIONS} projections`, async () => {
    const lines = [`| database | scenario | runner | time until all ${PROJECTIONS} projections reached the last commit | commits/s | transactions |`, '| --- | --- | --- | --- | --- | --- |'];
    for (const database of ['PGlite', 'PostgreSQL'] as const) {
      for (const scenario of ['catch-up', 'live'] as const) {
        for (const mode of MODES) {
          lines.push(await run(database, mode, scenario));
          console.log(lines[lines.length - 1]);
        }
      }
    }
    console.log(`${COMMITS} commits, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n${lines.join('\n')}`);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../event-store/event-store.contract.js';
import type { NewEvent, StoredEvent } from '../event-store/event-store.port.js';
import type { SqlDatabase } from '../read-model/sql-database.js';
import { JetStreamEventStore } from '../event-store/jetstream-event-store.js';
import { openTestPglite, testDatabases, type TestDatabase } from '../read-model/testing/test-databases.js';
import { startNatsServer, type NatsServer } from '../testing/nats-server.js';
import { ProjectionError, ProjectionRunner, ProjectionTimeoutError, CHECKPOINTS_TABLE } from './projection-runner.js';
import { countingProjection, readCounts } from './testing/counting-projection.js';

let server: NatsServer;
let store: JetStreamEventStore;
beforeAll(async () => {
  server = await startNatsServer();
  store = await JetStreamEventStore.connect({ servers: server.url });
});
afterAll(async () => {
  await store?.close();
  await server?.stop();
});

/** A fresh projection name and stream prefix per test, so tests share the store and database. */
function scope() {
  const id = randomBytes(4).toString('hex');
  return { name: `p_${id}`, prefix: `counted-${id}` };
}

async function appendCommits(prefix: string, commits: number): Promise<{ events: number; last: bigint }> {
  let events = 0;
  let last = 0n;
  for (let i = 0; i < commits; i++) {
    const stream = `${prefix}.${i % 3}`;
    const size = (i % 3) + 1;
    const version = (await store.readStream(stream)).length;
    const result = await store.append(stream, Array.from({ length: size }, (_, n) => ({ type: 'Counted', data: { i, n } })), version);
    events += size;
    last = result.position;
  }
  return { events, last };
}

/** Appends one commit per entry, each holding events of the given types; returns their positions. */
async function appendTyped(prefix: string, commits: readonly (readonly string[])[]): Promise<bigint[]> {
  const positions: bigint[] = [];
  for (const [i, types] of commits.entries()) {
    const events: NewEvent[] = types.map((type, n) => ({ type, data: { i, n } }));
    positions.push((await store.append(`${prefix}.${i % 3}`, events, 'any')).position);
  }
  return positions;
}

/** The database, counting the transactions started on it. */
function countingTransactions(db: SqlDatabase): { db: SqlDatabase; transactions: () => number } {
  let transactions = 0;
  const counted: SqlDatabase = {
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    transaction: (fn) => {
      transactions++;
      return db.transaction(fn);
    },
  };
  return { db: counted, transactions: () => transactions };
}

describe.each(testDatabases)('ProjectionRunner on %s', (_label, open) => {
  let database: TestDatabase;
  const runners: ProjectionRunner[] = [];
  beforeAll(async () => {
    database = await open();
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });
  afterAll(async () => {
    await database?.drop();
  });
  const runner = (options: Omit<ConstructorParameters<typeof ProjectionRunner>[0], 'store' | 'db'>) => {
    const created = new ProjectionRunner({ store, db: database.db, ...options });
    runners.push(created);
    return created;
  };

  it('projects past and live commits, and waitForPosition gives read-your-writes', async () => {
    const { name, prefix } = scope();
    const past = await appendCommits(prefix, 4);
    const projection = runner({ projection: countingProjection({ name, streamPrefix: prefix }) });
    await projection.start();

    await projection.waitForPosition(past.last, 15_000);
    expect(await readCounts(database.db, name)).toEqual({ total: past.events, rows: past.events, duplicates: 0 });

    const live = await store.append(`${prefix}.live`, [{ type: 'Counted', data: {} }], 0);
    await projection.waitForPosition(live.position, 15_000);
    expect(projection.position).toBeGreaterThanOrEqual(live.position);
    expect((await readCounts(database.db, name)).total).toBe(past.events + 1);
    const { rows } = await database.db.query<{ position: number }>(`SELECT position FROM ${CHECKPOINTS_TABLE} WHERE name = $1`, [name]);
    expect(BigInt(rows[0].position)).toBe(projection.position);
  });

  it('resumes from its checkpoint after a restart and applies no commit twice', async () => {
    const { name, prefix } = scope();
    const first = await appendCommits(prefix, 3);
    const before = runner({ projection: countingProjection({ name, streamPrefix: prefix }) });
    await before.start();
    await before.waitForPosition(first.last, 15_000);
    await before.stop();

    const second = await appendCommits(prefix, 3);
    const after = runner({ projection: countingProjection({ name, streamPrefix: prefix }) });
    await after.start();
    expect(after.position).toBeGreaterThanOrEqual(first.last);
    await after.waitForPosition(second.last, 15_000);
    expect(await readCounts(database.db, name)).toEqual({ total: first.events + second.events, rows: first.events + second.events, duplicates: 0 });
  });

  it('retries a commit whose apply failed; the failed attempt leaves nothing behind', async () => {
    const { name, prefix } = scope();
    const errors: ProjectionError[] = [];
    let failures = 1;
    const projection = runner({
      projection: countingProjection({
        name,
        streamPrefix: prefix,
        beforeApply: (events: readonly StoredEvent[]) => {
          if (events[0].stream.startsWith(prefix) && failures-- > 0) throw new Error('read model unavailable');
        },
      }),
      retryDelayMs: 50,
      onError: (error) => errors.push(error),
    });
    await projection.start();
    const { events, last } = await appendCommits(prefix, 2);

    await projection.waitForPosition(last, 15_000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ProjectionError);
    expect(errors[0].message).toMatch(new RegExp(`projection ${name}: apply failed for the commit at position \\d+ \\(${prefix}`));
    expect((errors[0].cause as Error).message).toBe('read model unavailable');
    expect(await readCounts(database.db, name)).toEqual({ total: events, rows: events, duplicates: 0 });
  });

  it('applies each commit once when two replicas run the same projection', async () => {
    const { name, prefix } = scope();
    const replicas = [0, 1].map(() => runner({ projection: countingProjection({ name, streamPrefix: prefix }) }));
    await Promise.all(replicas.map((r) => r.start()));
    const { events, last } = await appendCommits(prefix, 6);

    await Promise.all(replicas.map((r) => r.waitForPosition(last, 15_000)));
    expect(await readCounts(database.db, name)).toEqual({ total: events, rows: events, duplicates: 0 });
  });

  it('applies the commits waiting at start in transactions of at most batchSize commits, each once', async () => {
    const { name, prefix } = scope();
    const positions = await appendTyped(prefix, Array.from({ length: 60 }, () => ['Counted']));
    const counted = countingTransactions(database.db);
    const projection = new ProjectionRunner({ store, db: counted.db, projection: countingProjection({ name, streamPrefix: prefix }), batchSize: 25 });
    runners.push(projection);
    await projection.start();
    const started = counted.transactions();

    await projection.waitForPosition(positions[59], 15_000);
    expect(await readCounts(database.db, name)).toEqual({ total: 60, rows: 60, duplicates: 0 });
    // The projection catches up on every commit stored so far (other tests' too): one transaction each without batches.
    expect(counted.transactions() - started).toBeLessThan(Number(positions[59]) / 2);
  });

  it('skips commits without a handled event type, without a transaction, and still stores its checkpoint', async () => {
    const { name, prefix } = scope();
    const counted = countingTransactions(database.db);
    const projection = new ProjectionRunner({
      store,
      db: counted.db,
      projection: countingProjection({ name, streamPrefix: prefix, eventTypes: ['DeviceRegistered'] }),
      checkpointIntervalMs: 20,
    });
    runners.push(projection);
    await projection.start();
    // Catch up first: earlier tests stored commits this projection handles.
    const [head] = await appendTyped(`${prefix}-head`, [['Counted']]);
    await projection.waitForPosition(head, 15_000);
    const started = counted.transactions();

    const ignored = (await appendTyped(prefix, [['Counted', 'DeviceRegistered'], ['Counted'], ['DeviceCameOnline'], ['Counted', 'Counted']])).slice(1);
    await projection.waitForPosition(ignored[2], 15_000);
    expect(await readCounts(database.db, name)).toEqual({ total: 2, rows: 2, duplicates: 0 });
    expect(counted.transactions() - started).toBe(1);
    await waitFor(async () => {
      const { rows } = await database.db.query<{ position: number }>(`SELECT position FROM ${CHECKPOINTS_TABLE} WHERE name = $1`, [name]);
      return BigInt(rows[0].position) === ignored[2];
    }, 'the checkpoint past the skipped commits to be stored');
  });

  it('stores the checkpoint reached by skipping when stopped, and skips those commits again after a restart', async () => {
    const { name, prefix } = scope();
    const projection = () => countingProjection({ name, streamPrefix: prefix, eventTypes: ['DeviceRegistered'] });
    const before = runner({ projection: projection(), checkpointIntervalMs: 60_000 });
    await before.start();
    const [, skipped] = await appendTyped(prefix, [['DeviceRegistered'], ['Counted']]);
    await before.waitForPosition(skipped, 15_000);
    await before.stop();

    const after = runner({ projection: projection() });
    await after.start();
    expect(after.position).toBeGreaterThanOrEqual(skipped);
    const [, registered] = await appendTyped(prefix, [['Counted'], ['DeviceRegistered']]);
    await after.waitForPosition(registered, 15_000);
    expect(await readCounts(database.db, name)).toEqual({ total: 2, rows: 2, duplicates: 0 });
  });

  it('applies the commits before a failing one in its batch and reports the failing commit by position', async () => {
    const { name, prefix } = scope();
    const positions = await appendTyped(prefix, Array.from({ length: 10 }, () => ['Counted']));
    const poison = positions[6];
    const failures: { error: ProjectionError; position: bigint }[] = [];
    let attempts = 2;
    const projection = runner({
      projection: countingProjection({
        name,
        streamPrefix: prefix,
        beforeApply: (events) => {
          if (events[0].position === poison && attempts-- > 0) throw new Error('poison');
        },
      }),
      retryDelayMs: 50,
      onError: (error) => failures.push({ error, position: projection.position }),
    });
    await projection.start();

    await projection.waitForPosition(positions[9], 15_000);
    expect(failures.map(({ error }) => error.position)).toEqual([poison, poison]);
    expect(failures[0].error.message).toMatch(`apply failed for the commit at position ${poison} (${prefix}`);
    // Reported once the commits before the poison one were applied.
    expect(failures.map(({ position }) => position)).toEqual([positions[5], positions[5]]);
    expect(await readCounts(database.db, name)).toEqual({ total: 10, rows: 10, duplicates: 0 });
  });

  it('refuses a batchSize below 1, naming the projection', () => {
    expect(() => new ProjectionRunner({ store, db: database.db, projection: countingProjection({ name: 'sized', streamPrefix: 'x' }), batchSize: 0 })).toThrow(
      'projection sized: batchSize must be an integer >= 1, got 0',
    );
  });

  it('rejects waitForPosition with ProjectionTimeoutError when the position is not reached in time', async () => {
    const { name, prefix } = scope();
    const projection = runner({ projection: countingProjection({ name, streamPrefix: prefix }) });
    await projection.start();
    await expect(projection.waitForPosition(10n ** 12n, 50)).rejects.toThrow(ProjectionTimeoutError);
    await expect(projection.waitForPosition(10n ** 12n, 50)).rejects.toThrow(/did not reach position 1000000000000 within 50 ms/);
  });

  it('rejects pending waits when stopped', async () => {
    const { name, prefix } = scope();
    const projection = runner({ projection: countingProjection({ name, streamPrefix: prefix }) });
    await projection.start();
    const waiting = projection.waitForPosition(10n ** 12n, 15_000);
    await projection.stop();
    await expect(waiting).rejects.toThrow(/stopped at position \d+ before reaching 1000000000000/);
  });

  it('refuses to start when a migration fails, naming the projection and the migration', async () => {
    const { name } = scope();
    const projection = runner({ projection: { name, migrations: ['CREATE TABLE IF NOT EXISTS ok_table_' + name + ' (id int)', 'CREATE TABLE broken ('], apply: async () => undefined } });
    const failure = await projection.start().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProjectionError);
    expect((failure as Error).message).toBe(`projection ${name}: migration 1 failed`);
    expect((failure as Error).cause).toBeDefined();
  });
});

describe('ProjectionRunner on PGlite with a data directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hotswap-pglite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps read model and checkpoint across a reopen and continues exactly once', async () => {
    const { name, prefix } = scope();
    const first = await appendCommits(prefix, 3);
    let database = await openTestPglite(dir);
    let runner = new ProjectionRunner({ store, db: database.db, projection: countingProjection({ name, streamPrefix: prefix }) });
    await runner.start();
    await runner.waitForPosition(first.last, 15_000);
    await runner.stop();
    await database.drop();

    const second = await appendCommits(prefix, 2);
    database = await openTestPglite(dir);
    runner = new ProjectionRunner({ store, db: database.db, projection: countingProjection({ name, streamPrefix: prefix }) });
    try {
      await runner.start();
      expect(runner.position).toBe(first.last);
      await runner.waitForPosition(second.last, 15_000);
      expect(await readCounts(database.db, name)).toEqual({ total: first.events + second.events, rows: first.events + second.events, duplicates: 0 });
    } finally {
      await runner.stop();
      await database.drop();
    }
  });
});

describe('ProjectionRunner - store outage', () => {
  it('keeps projecting after nats-server restarts', async () => {
    const crashing = await startNatsServer();
    const own = await JetStreamEventStore.connect({ servers: crashing.url, timeoutMs: 1_000, retryDelayMs: 100, connection: { reconnectTimeWait: 100 } });
    const database = await openTestPglite();
    const { name, prefix } = scope();
    const runner = new ProjectionRunner({ store: own, db: database.db, projection: countingProjection({ name, streamPrefix: prefix }), retryDelayMs: 100 });
    try {
      await runner.start();
      const before = await own.append(`${prefix}.a`, [{ type: 'Counted', data: {} }], 0);
      await runner.waitForPosition(before.position, 15_000);
      await crashing.kill();
      await crashing.restart();
      let after: bigint | undefined;
      await waitFor(async () => {
        after = await own.append(`${prefix}.a`, [{ type: 'Counted', data: {} }], 1).then((r) => r.position, () => undefined);
        return after !== undefined;
      }, 'an append after the restart');
      await runner.waitForPosition(after!, 15_000);
      expect(await readCounts(database.db, name)).toEqual({ total: 2, rows: 2, duplicates: 0 });
    } finally {
      await runner.stop();
      await own.close();
      await database.drop();
      await crashing.stop();
    }
  }, 60_000);
});

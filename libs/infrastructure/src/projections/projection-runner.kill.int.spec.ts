import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../event-store/event-store.contract.js';
import { JetStreamEventStore } from '../event-store/jetstream-event-store.js';
import { openTestPostgres, TEST_POSTGRES_URL, type TestDatabase } from '../read-model/testing/test-databases.js';
import { startNatsServer, type NatsServer } from '../testing/nats-server.js';
import { CHECKPOINTS_TABLE, ProjectionRunner } from './projection-runner.js';
import { compileForChild, type CompiledTree } from './testing/compile-for-child.js';
import { countingProjection, readCounts } from './testing/counting-projection.js';

describe('ProjectionRunner - process killed mid-stream', () => {
  let server: NatsServer;
  let store: JetStreamEventStore;
  let database: TestDatabase;
  let compiled: CompiledTree;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    [server, database, compiled] = await Promise.all([startNatsServer(), openTestPostgres(), compileForChild()]);
    store = await JetStreamEventStore.connect({ servers: server.url });
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await store?.close();
    await database?.drop();
    await server?.stop();
    await compiled?.remove();
  });

  // 0n until the child has created the checkpoint table.
  const checkpoint = (name: string) =>
    database.db
      .query<{ position: number }>(`SELECT position FROM ${CHECKPOINTS_TABLE} WHERE name = $1`, [name])
      .then(({ rows }) => BigInt(rows[0]?.position ?? 0), () => 0n);

  it('counts every event exactly once after a SIGKILL and a restart', async () => {
    const name = 'killed';
    const prefix = 'counted-kill';
    let events = 0;
    let last = 0n;
    for (let i = 0; i < 60; i++) {
      const size = (i % 3) + 1;
      const result = await store.append(`${prefix}.${i % 4}`, Array.from({ length: size }, (_, n) => ({ type: 'Counted', data: { i, n } })), 'any');
      events += size;
      last = result.position;
    }

    child = spawn(process.execPath, [join(compiled.root, 'projections', 'testing', 'kill-child.mjs')], {
      env: { ...process.env, NATS_URL: server.url, PG_URL: TEST_POSTGRES_URL, PG_SCHEMA: database.schema, PROJECTION_NAME: name, STREAM_PREFIX: prefix, APPLY_DELAY_MS: '20', BATCH_SIZE: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
    // Kill it once it has made progress but (with 20 ms per commit, 5 commits per transaction) long before the end.
    await waitFor(async () => {
      if (child?.exitCode !== null) throw new Error(`the runner process exited early: ${stderr}`);
      return (await checkpoint(name)) >= last / 6n;
    }, 'the child runner to make progress', 30_000);
    child.kill('SIGKILL');
    await exited;
    const killedAt = await checkpoint(name);
    expect(killedAt).toBeGreaterThan(0n);
    expect(killedAt).toBeLessThan(last);

    const runner = new ProjectionRunner({ store, db: database.db, projection: countingProjection({ name, streamPrefix: prefix }) });
    try {
      await runner.start();
      expect(runner.position).toBe(killedAt);
      await runner.waitForPosition(last, 30_000);
    } finally {
      await runner.stop();
    }
    expect(await readCounts(database.db, name)).toEqual({ total: events, rows: events, duplicates: 0 });
  }, 90_000);
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { LocalFileArtifactStore } from '../artifact-store/index.js';
import { JetStreamEventStore } from '../event-store/index.js';
import { MessageBus, type MessagingLogger } from '../messaging/index.js';
import { PgDatabase, PgliteDatabase, type SqlDatabase } from '../read-model/index.js';
import type { RuntimeLogger, ServiceRuntime } from '../runtime/index.js';
import { startNatsServer, type NatsServer } from './nats-server.js';

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

/** A settable clock: tests move time forward instead of sleeping. */
export class TestClock {
  constructor(private current = new Date('2026-01-01T00:00:00.000Z')) {}
  readonly now = (): Date => new Date(this.current);
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface TestRuntime {
  readonly runtime: ServiceRuntime;
  readonly nats: NatsServer;
  readonly clock: TestClock;
  /** What the service logged (warnings for refused messages, errors...). */
  readonly logs: LogEntry[];
  cleanup(): Promise<void>;
}

/** The PostgreSQL the integration tests use (trust auth, database `test`). */
export const TEST_POSTGRES_URL = process.env['HOTSWAP_TEST_POSTGRES_URL'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestRuntimeOptions {
  /**
   * `postgres` (default): a schema of its own on the test PostgreSQL, dropped at cleanup, as
   * production runs; `pglite`: in memory, as the embedded default runs.
   */
  readonly database?: 'postgres' | 'pglite';
}

/**
 * A service runtime on real infrastructure for integration tests: its own nats-server with
 * JetStream, a read-model database of its own, a temp-dir artifact store, a test clock.
 */
export async function startTestRuntime(options: TestRuntimeOptions = {}): Promise<TestRuntime> {
  const nats = await startNatsServer({ jetstream: true });
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-runtime-'));
  const nc = await connect({ servers: nats.url });
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const db: SqlDatabase = options.database === 'pglite'
    ? await PgliteDatabase.open()
    : await PgDatabase.connect({ connectionString: TEST_POSTGRES_URL, schema });
  const clock = new TestClock();
  const logs: LogEntry[] = [];
  const logger: RuntimeLogger & MessagingLogger = {
    info: (message, fields) => logs.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    warn: (message, fields) => logs.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    error: (message, fields) => logs.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
  };
  const eventStore = await JetStreamEventStore.fromConnection(nc);
  const runtime: ServiceRuntime = {
    nats: nc,
    bus: new MessageBus(nc, { logger }),
    eventStore,
    db,
    artifacts: new LocalFileArtifactStore({ rootDir: join(dir, 'artifacts') }),
    clock: clock.now,
    logger,
  };
  return {
    runtime, nats, clock, logs,
    cleanup: async () => {
      await eventStore.close();
      await nc.close();
      if (options.database !== 'pglite') await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await db.close();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

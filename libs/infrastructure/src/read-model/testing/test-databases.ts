/** Read-model databases for integration tests: a throw-away PostgreSQL schema, or PGlite. */
import { randomBytes } from 'node:crypto';
import { PgDatabase } from '../pg-database.js';
import { PgliteDatabase } from '../pglite-database.js';
import type { SqlDatabase } from '../sql-database.js';

/** The test PostgreSQL (database `test`); override with HOTSWAP_TEST_POSTGRES_URL. */
export const TEST_POSTGRES_URL = process.env['HOTSWAP_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly db: SqlDatabase;
  /** Set for PostgreSQL: the schema this run owns. */
  readonly schema?: string;
  /** Drops what the test created and closes the database. */
  drop(): Promise<void>;
}

export async function openTestPostgres(): Promise<TestDatabase> {
  const schema = `itest_${randomBytes(6).toString('hex')}`;
  const db = await PgDatabase.connect({ connectionString: TEST_POSTGRES_URL, schema, maxConnections: 4 });
  return {
    db,
    schema,
    async drop() {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    },
  };
}

export async function openTestPglite(dataDir?: string): Promise<TestDatabase> {
  const db = await PgliteDatabase.open({ dataDir });
  return { db, drop: () => db.close() };
}

export const testDatabases: readonly (readonly [string, () => Promise<TestDatabase>])[] = [
  ['PostgreSQL', openTestPostgres],
  ['PGlite', () => openTestPglite()],
];

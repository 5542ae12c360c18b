import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PgDatabase } from './pg-database.js';
import { SqlError } from './sql-database.js';
import { testDatabases, type TestDatabase } from './testing/test-databases.js';

describe.each(testDatabases)('SqlDatabase on %s', (_label, open) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await open();
    await database.db.exec(`
      CREATE TABLE IF NOT EXISTS sql_items (id text PRIMARY KEY, size bigint NOT NULL, doc jsonb, at timestamptz);
      CREATE TABLE IF NOT EXISTS sql_counter (id int PRIMARY KEY, n int NOT NULL);
      INSERT INTO sql_counter VALUES (1, 0) ON CONFLICT DO NOTHING`);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('runs one statement with $n parameters and returns typed rows', async () => {
    const at = new Date('2030-01-02T03:04:05.000Z');
    await database.db.query('INSERT INTO sql_items (id, size, doc, at) VALUES ($1, $2, $3, $4)', ['a', 5_000_000_000, JSON.stringify({ tags: ['x'] }), at]);
    const { rows } = await database.db.query<{ id: string; size: number; doc: unknown; at: Date; total: number }>(
      'SELECT id, size, doc, at, count(*) OVER () AS total FROM sql_items WHERE id = $1',
      ['a'],
    );
    expect(rows).toEqual([{ id: 'a', size: 5_000_000_000, doc: { tags: ['x'] }, at, total: 1 }]);
  });

  it('refuses an int8 a JS number cannot hold exactly', async () => {
    const failure = await database.db.query('SELECT 9223372036854775807::int8 AS big').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SqlError);
    expect((failure as Error).message).toMatch(/does not fit a JS number exactly/);
  });

  it('commits a transaction that resolves', async () => {
    const result = await database.db.transaction(async (tx) => {
      await tx.query('UPDATE sql_counter SET n = n + 1 WHERE id = $1', [1]);
      await tx.exec('UPDATE sql_counter SET n = n + 1 WHERE id = 1');
      return (await tx.query<{ n: number }>('SELECT n FROM sql_counter WHERE id = 1')).rows[0].n;
    });
    expect((await database.db.query<{ n: number }>('SELECT n FROM sql_counter WHERE id = 1')).rows[0].n).toBe(result);
  });

  it('rolls back a transaction that rejects and rethrows its error', async () => {
    const before = (await database.db.query<{ n: number }>('SELECT n FROM sql_counter WHERE id = 1')).rows[0].n;
    const failure = new Error('decided to fail');
    await expect(
      database.db.transaction(async (tx) => {
        await tx.query('UPDATE sql_counter SET n = n + 100 WHERE id = 1');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect((await database.db.query<{ n: number }>('SELECT n FROM sql_counter WHERE id = 1')).rows[0].n).toBe(before);
  });

  it('names the failing statement and keeps the driver error as cause', async () => {
    const failure = await database.db.query('SELECT * FROM no_such_table WHERE id = $1', [1]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SqlError);
    expect((failure as Error).message).toMatch(/relation "no_such_table" does not exist \(in: SELECT \* FROM no_such_table WHERE id = \$1\)/);
    expect((failure as Error).cause).toBeInstanceOf(Error);
    await expect(database.db.exec('CREATE TABLE broken (')).rejects.toThrow(SqlError);
  });
});

describe('PgDatabase', () => {
  it('refuses a schema name it would have to quote', async () => {
    await expect(PgDatabase.connect({ connectionString: 'postgres://postgres@127.0.0.1:5432/test', schema: 'Bad-Name' })).rejects.toThrow(
      /schema "Bad-Name" must match/,
    );
  });

  it('fails to connect with SqlError when the server is unreachable', async () => {
    await expect(PgDatabase.connect({ connectionString: 'postgres://postgres@127.0.0.1:1/test' })).rejects.toThrow(SqlError);
  });
});

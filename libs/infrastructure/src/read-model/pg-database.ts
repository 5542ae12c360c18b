/** The read-model database on PostgreSQL through a `pg` Pool. */
import pg from 'pg';
import { describeFailure, INT8_OID, parseInt8, SqlError, type SqlDatabase, type SqlExecutor, type SqlResult } from './sql-database.js';

export interface PgDatabaseOptions {
  /** `postgres://user@host:5432/db`. */
  readonly connectionString: string;
  /**
   * Schema the read models live in (created if missing, set as `search_path`), so each service or
   * test run can own one. Lowercase letters, digits and `_`. Default: the server's search_path.
   */
  readonly schema?: string;
  /** Maximum pooled connections. Default 10. */
  readonly maxConnections?: number;
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export class PgDatabase implements SqlDatabase {
  private constructor(private readonly pool: pg.Pool) {}

  /** Connections the pool holds open (idle or busy), for `process.open_connections`. */
  get openConnections(): number {
    return this.pool.totalCount;
  }

  /** Opens a pool and checks the database answers (creating the schema if one is given). */
  static async connect(options: PgDatabaseOptions): Promise<PgDatabase> {
    const { schema } = options;
    if (schema !== undefined && !SCHEMA_PATTERN.test(schema)) {
      throw new SqlError(`schema "${schema}" must match ${SCHEMA_PATTERN.source}`);
    }
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      types,
      ...(schema && { options: `-c search_path=${schema}` }),
    });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const db = new PgDatabase(pool);
    try {
      await db.exec(schema ? `CREATE SCHEMA IF NOT EXISTS ${schema}` : 'SELECT 1');
    } catch (error) {
      await pool.end();
      throw error;
    }
    return db;
  }

  query<Row = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<SqlResult<Row>> {
    return describeFailure(sql, async () => ({ rows: (await this.pool.query(sql, [...params])).rows as Row[] }));
  }

  async exec(sql: string): Promise<void> {
    await describeFailure(sql, () => this.pool.query(sql));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await describeFailure('BEGIN', () => this.pool.connect());
    const tx: SqlExecutor = {
      query: (sql, params = []) => describeFailure(sql, async () => ({ rows: (await client.query(sql, [...params])).rows })),
      exec: async (sql) => void (await describeFailure(sql, () => client.query(sql))),
    };
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A client that cannot roll back is broken: destroy it rather than return it to the pool.
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

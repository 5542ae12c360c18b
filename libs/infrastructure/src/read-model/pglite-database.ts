/** The embedded read-model database: PGlite (PostgreSQL in WebAssembly), in memory or in a directory. */
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { describeFailure, INT8_OID, parseInt8, type SqlDatabase, type SqlExecutor, type SqlResult } from './sql-database.js';

export interface PgliteDatabaseOptions {
  /** Directory holding the data; omitted = in memory, gone on close. */
  readonly dataDir?: string;
}

export class PgliteDatabase implements SqlDatabase {
  private constructor(private readonly db: PGlite) {}

  static async open(options: PgliteDatabaseOptions = {}): Promise<PgliteDatabase> {
    const db = await PGlite.create({ ...(options.dataDir && { dataDir: options.dataDir }), parsers: { [INT8_OID]: parseInt8 } });
    return new PgliteDatabase(db);
  }

  query<Row = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<SqlResult<Row>> {
    return describeFailure(sql, async () => ({ rows: (await this.db.query<Row>(sql, [...params])).rows }));
  }

  async exec(sql: string): Promise<void> {
    await describeFailure(sql, () => this.db.exec(sql));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((tx: Transaction) =>
      fn({
        query: (sql, params = []) => describeFailure(sql, async () => ({ rows: (await tx.query(sql, [...params])).rows as never[] })),
        exec: async (sql) => void (await describeFailure(sql, () => tx.exec(sql))),
      }),
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

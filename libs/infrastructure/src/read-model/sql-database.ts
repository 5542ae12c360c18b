/**
 * The read-model database port: PostgreSQL through `pg` in production, PGlite embedded by default.
 * The same SQL runs on both: `$1` parameters, PostgreSQL dialect.
 *
 * Values come back the same way from both adapters: `int8` (`bigint`, `count(*)`) as a JS number
 * (a RangeError beyond 2^53 - 1), `numeric` as a string, `json`/`jsonb` parsed, timestamps as Date.
 */

export interface SqlResult<Row = Record<string, unknown>> {
  readonly rows: Row[];
}

/** What a transaction, or the database outside one, can run. */
export interface SqlExecutor {
  /** One statement with `$1`... parameters. */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<Row>>;
  /** A script of one or more statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it rejects. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export class SqlError extends Error {
  override readonly name = 'SqlError';
}

/** OID of `int8`. */
export const INT8_OID = 20;

/** Parses an `int8` text value into a number, refusing values a number cannot hold exactly. */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`int8 value ${text} does not fit a JS number exactly`);
  return value;
}

/** Runs `fn` and rethrows a failure as SqlError naming the statement, keeping the cause. */
export async function describeFailure<T>(sql: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof SqlError) throw cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const statement = sql.replace(/\s+/g, ' ').trim().slice(0, 200);
    throw new SqlError(`${reason} (in: ${statement})`, { cause });
  }
}

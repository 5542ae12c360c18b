import type { Projection, SqlExecutor, StoredEvent } from '@hotswap/infrastructure';

/** Longest string kept in an entry's summary; artifact keys and reasons fit, free text is cut. */
const SUMMARY_TEXT_MAX = 200;

/**
 * The audit trail: one row per stored event, whatever its type, with who caused it and under
 * which trace. Nothing is ever updated or removed, so the log is exactly the event store's history.
 */
export const auditLogProjection: Projection = {
  name: 'monitor.audit-log',
  migrations: [
    `CREATE TABLE IF NOT EXISTS monitor_audit_log (
       position bigint NOT NULL,
       seq integer NOT NULL,
       at timestamptz NOT NULL,
       actor text NOT NULL,
       action text NOT NULL,
       resource text NOT NULL,
       trace_id text,
       summary jsonb NOT NULL,
       PRIMARY KEY (position, seq)
     )`,
    'CREATE INDEX IF NOT EXISTS monitor_audit_log_actor ON monitor_audit_log (actor, position)',
    'CREATE INDEX IF NOT EXISTS monitor_audit_log_resource ON monitor_audit_log (resource, position)',
    'CREATE INDEX IF NOT EXISTS monitor_audit_log_at ON monitor_audit_log (at)',
  ],
  async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const [seq, event] of events.entries()) {
      const metadata = event.metadata ?? {};
      await tx.query(
        `INSERT INTO monitor_audit_log (position, seq, at, actor, action, resource, trace_id, summary)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (position, seq) DO NOTHING`,
        [
          event.position.toString(), seq, timeOf(metadata['occurredAt'], event.recordedAt), textOr(metadata['actor'], 'unknown'),
          event.type, event.stream, traceIdOf(metadata['traceparent']), JSON.stringify(summarise(event.data)),
        ],
      );
    }
  },
};

/** The trace id of a W3C `traceparent` (`00-<32 hex trace id>-<16 hex span id>-<flags>`), if it is one. */
export function traceIdOf(traceparent: unknown): string | null {
  if (typeof traceparent !== 'string') return null;
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim());
  return match && !/^0+$/.test(match[1]!) ? match[1]! : null;
}

/** The scalar fields of an event's data; arrays and objects (schemas, measurements) are left out. */
export function summarise(data: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const summary: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string') summary[key] = value.length > SUMMARY_TEXT_MAX ? `${value.slice(0, SUMMARY_TEXT_MAX - 1)}…` : value;
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null) summary[key] = value;
  }
  return summary;
}

function textOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function timeOf(occurredAt: unknown, recordedAt: string): string {
  return typeof occurredAt === 'string' && !Number.isNaN(Date.parse(occurredAt)) ? occurredAt : recordedAt;
}

import { Inject, Injectable } from '@nestjs/common';
import { AUDIT_DEFAULT_LIMIT, type AuditEntryView, type AuditPage, type AuditQuery } from '@hotswap/contracts';
import { InvalidCommandError } from '@hotswap/domain';
import { ProjectedReadModel, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { auditLogProjection } from './audit-log.projection.js';

interface AuditRow {
  position: string | number; seq: number; at: Date | string; actor: string; action: string; resource: string;
  trace_id: string | null; summary: AuditEntryView['summary'] | string;
}

/** The audit trail read model: follows the event store from its checkpoint and answers filtered, paged reads. */
@Injectable()
export class AuditLogReadModel extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime) {
    super(runtime, auditLogProjection);
  }

  /** Newest first. The cursor is `<position>.<seq>` of the last entry of the previous page (keyset paging). */
  async list(query: AuditQuery): Promise<AuditPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (p: string) => string, value: unknown) => { params.push(value); where.push(sql(`$${params.length}`)); };
    const from = query.from === undefined ? undefined : new Date(query.from);
    const to = query.to === undefined ? undefined : new Date(query.to);
    if (from && to && from.getTime() > to.getTime()) {
      throw new InvalidCommandError(`from (${query.from}) must not be after to (${query.to})`);
    }
    if (query.actor !== undefined) add((p) => `actor = ${p}`, query.actor);
    if (query.resource !== undefined) add((p) => `resource = ${p}`, query.resource);
    if (query.action !== undefined) add((p) => `action = ${p}`, query.action);
    if (from) add((p) => `at >= ${p}`, from.toISOString());
    if (to) add((p) => `at < ${p}`, to.toISOString());
    if (query.cursor !== undefined) {
      const [position, seq] = query.cursor.split('.');
      params.push(position, Number(seq));
      where.push(`(position, seq) < ($${params.length - 1}::bigint, $${params.length}::integer)`);
    }
    const limit = query.limit ?? AUDIT_DEFAULT_LIMIT;
    params.push(limit + 1);
    const { rows } = await this.runtime.db.query<AuditRow>(
      `SELECT * FROM monitor_audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY position DESC, seq DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toEntry),
      ...(rows.length > limit && last ? { nextCursor: `${String(last.position)}.${last.seq}` } : {}),
    };
  }
}

function toEntry(row: AuditRow): AuditEntryView {
  return {
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    action: row.action,
    resource: row.resource,
    ...(row.trace_id ? { traceId: row.trace_id } : {}),
    summary: typeof row.summary === 'string' ? (JSON.parse(row.summary) as AuditEntryView['summary']) : row.summary,
    position: String(row.position),
  };
}

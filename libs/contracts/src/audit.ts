import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { EVENT_SCHEMA_VERSIONS } from './events.js';

/** The audit trail (`GET /api/v1/audit`): every recorded event, who caused it and under which trace. */

/** Every event type, i.e. every `action` the audit trail can hold. */
export const AUDIT_ACTIONS: readonly string[] = Object.keys(EVENT_SCHEMA_VERSIONS);

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 500;

/** `GET /api/v1/audit` and `list-audit-entries`: all filters are optional and combine with AND. */
export interface AuditQuery {
  /** Exact actor: a JWT subject, a device id, `system:<service>` or `retention-policy`. */
  readonly actor?: string;
  /** Exact event-store stream, e.g. `model-fraud-1.2.0`, `device-cam-1`, `distribution-dist-…`. */
  readonly resource?: string;
  /** Exact event type, e.g. `ModelVersionDeleted`. */
  readonly action?: string;
  /** ISO 8601; entries at or after it. */
  readonly from?: string;
  /** ISO 8601; entries strictly before it. */
  readonly to?: string;
  /** 1–500, default 100. */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export class AuditQueryDto implements AuditQuery {
  @IsOptional() @IsString() @MaxLength(200) actor?: string;
  @IsOptional() @IsString() @MaxLength(300) resource?: string;
  @IsOptional() @IsIn(AUDIT_ACTIONS, { message: 'action must be an event type such as ModelUploaded or ModelVersionDeleted' })
  action?: string;
  @IsOptional() @IsISO8601({ strict: true, strictSeparator: true }, { message: 'from must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z' })
  from?: string;
  @IsOptional() @IsISO8601({ strict: true, strictSeparator: true }, { message: 'to must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z' })
  to?: string;
  @IsOptional() @Type(() => Number)
  @IsInt({ message: `limit must be an integer from 1 to ${AUDIT_MAX_LIMIT}` })
  @Min(1, { message: `limit must be an integer from 1 to ${AUDIT_MAX_LIMIT}` })
  @Max(AUDIT_MAX_LIMIT, { message: `limit must be an integer from 1 to ${AUDIT_MAX_LIMIT}` })
  limit?: number;
  @IsOptional() @Matches(/^\d{1,19}\.\d{1,6}$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;
}

/** One recorded event as the audit trail shows it. */
export interface AuditEntryView {
  /** When it happened (the command's time; the store's time for events without one). */
  readonly at: string;
  readonly actor: string;
  /** The event type. */
  readonly action: string;
  /** The event-store stream of the aggregate it changed. */
  readonly resource: string;
  /** W3C trace id (32 hex) of the request that caused it, when it carried one. */
  readonly traceId?: string;
  /** The event's scalar fields (strings cut to 200 characters); nested data is left out. */
  readonly summary: Readonly<Record<string, string | number | boolean | null>>;
  /** Global position of the commit in the event store. */
  readonly position: string;
}

/** Newest first; `nextCursor` is absent on the last page. */
export interface AuditPage {
  readonly items: readonly AuditEntryView[];
  readonly nextCursor?: string;
}

import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Queries, type AuditPage, type AuditQuery } from '@hotswap/contracts';
import { PgDatabase, RemoteError, type ServiceRuntime } from '@hotswap/infrastructure';
import { startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { MonitorModule } from '../monitor.module.js';

/** The audit trail on real NATS JetStream and a real PostgreSQL schema of its own. */
const POSTGRES_URL = process.env['HOTSWAP_TEST_POSTGRES_URL'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = `00-${TRACE}-00f067aa0ba902b7-01`;

let t: TestRuntime;
let db: PgDatabase;
let runtime: ServiceRuntime;
let app: INestApplicationContext;
const schema = `itest_audit_${randomBytes(4).toString('hex')}`;

const audit = (query: AuditQuery = {}) => runtime.bus.request<AuditQuery, AuditPage>(Queries.listAuditEntries, query, { timeoutMs: 5_000 });
const append = (stream: string, events: Array<[type: string, data: Record<string, unknown>]>, actor: string, occurredAt: string, trace?: string) =>
  t.runtime.eventStore.append(stream, events.map(([type, data]) => ({
    type, data, metadata: { schemaVersion: 1, actor, occurredAt, ...(trace ? { traceparent: trace } : {}) },
  })), 'any');

async function boot(): Promise<INestApplicationContext> {
  const context = await NestFactory.createApplicationContext(MonitorModule.register(runtime), { logger: false });
  await context.init();
  return context;
}

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  t = await startTestRuntime();
  db = await PgDatabase.connect({ connectionString: POSTGRES_URL, schema, maxConnections: 4 });
  runtime = { ...t.runtime, db };
  await append('model-fraud-1.0.0', [['ModelUploaded', {
    modelId: 'fraud-1.0.0', name: 'fraud', version: '1.0.0', sizeBytes: 130, metadata: { description: 'x'.repeat(10) }, note: 'n'.repeat(300),
  }]], 'alice', '2026-01-01T10:00:00.000Z', traceparent);
  await append('device-cam-1', [['DeviceRegistered', { deviceId: 'cam-1', region: 'us-west-1' }], ['DeviceCameOnline', { deviceId: 'cam-1', at: '2026-01-01T11:00:00.000Z' }]],
    'cam-1', '2026-01-01T11:00:00.000Z');
  await append('model-fraud-1.0.0', [['ModelDeprecated', { modelId: 'fraud-1.0.0', reason: 'drift', at: '2026-01-01T12:00:00.000Z' }]], 'mona', '2026-01-01T12:00:00.000Z');
  await append('model-fraud-1.0.0', [['ModelVersionDeleted', { modelId: 'fraud-1.0.0', at: '2026-01-01T13:00:00.000Z' }]], 'retention-policy', '2026-01-01T13:00:00.000Z');
  app = await boot();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await db?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await db?.close();
  await t?.cleanup();
});

describe('monitor - audit trail', () => {
  it('lists every recorded event newest first with actor, action, resource, trace id and a summary', async () => {
    const page = await eventually(() => audit(), (p) => p.items.length === 5);
    expect(page.items.map((e) => [e.action, e.actor, e.resource, e.at])).toEqual([
      ['ModelVersionDeleted', 'retention-policy', 'model-fraud-1.0.0', '2026-01-01T13:00:00.000Z'],
      ['ModelDeprecated', 'mona', 'model-fraud-1.0.0', '2026-01-01T12:00:00.000Z'],
      ['DeviceCameOnline', 'cam-1', 'device-cam-1', '2026-01-01T11:00:00.000Z'],
      ['DeviceRegistered', 'cam-1', 'device-cam-1', '2026-01-01T11:00:00.000Z'],
      ['ModelUploaded', 'alice', 'model-fraud-1.0.0', '2026-01-01T10:00:00.000Z'],
    ]);
    const upload = page.items[4]!;
    expect(upload.traceId).toBe(TRACE);
    expect(page.items[0]!.traceId).toBeUndefined();
    // Scalars only, long text cut: the nested metadata stays in the event store.
    expect(upload.summary).toEqual({ modelId: 'fraud-1.0.0', name: 'fraud', version: '1.0.0', sizeBytes: 130, note: `${'n'.repeat(199)}…` });
    expect(page.nextCursor).toBeUndefined();
  });

  it('filters by actor, resource, action and time, combined', async () => {
    expect((await audit({ actor: 'mona' })).items.map((e) => e.action)).toEqual(['ModelDeprecated']);
    expect((await audit({ resource: 'device-cam-1' })).items.map((e) => e.action)).toEqual(['DeviceCameOnline', 'DeviceRegistered']);
    expect((await audit({ action: 'ModelVersionDeleted' })).items.map((e) => e.actor)).toEqual(['retention-policy']);
    expect((await audit({ from: '2026-01-01T11:00:00Z', to: '2026-01-01T13:00:00Z' })).items.map((e) => e.action))
      .toEqual(['ModelDeprecated', 'DeviceCameOnline', 'DeviceRegistered']);
    expect((await audit({ resource: 'model-fraud-1.0.0', to: '2026-01-01T12:00:00Z' })).items.map((e) => e.action)).toEqual(['ModelUploaded']);
    expect((await audit({ actor: 'nobody' })).items).toEqual([]);
  });

  it('pages with a cursor until the last page, which has none', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await audit({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.action));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(['ModelVersionDeleted', 'ModelDeprecated', 'DeviceCameOnline', 'DeviceRegistered', 'ModelUploaded']);
  });

  it.each([
    [{ limit: 0 }, 'limit must be an integer from 1 to 500'],
    [{ limit: 501 }, 'limit must be an integer from 1 to 500'],
    [{ from: 'yesterday' }, 'from must be an ISO 8601 date-time'],
    [{ to: '2026-13-01T00:00:00Z' }, 'to must be an ISO 8601 date-time'],
    [{ action: 'ModelStolen' }, 'action must be an event type'],
    [{ cursor: 'abc' }, 'cursor must be the nextCursor of a previous page'],
    [{ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'from (2026-01-02T00:00:00Z) must not be after to (2026-01-01T00:00:00Z)'],
  ])('refuses %j with a 400 naming the field', async (query, message) => {
    const error = await audit(query as AuditQuery).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    expect((error as Error).message).toContain(message);
  });

  it('follows new events and counts each event once across a restart', async () => {
    await app.close();
    await append('distribution-d-1', [['DistributionCreated', { distributionId: 'd-1', modelId: 'fraud-1.0.0' }]], 'olga', '2026-01-01T14:00:00.000Z', traceparent);
    app = await boot();
    const page = await eventually(() => audit(), (p) => p.items.length === 6);
    expect(page.items[0]).toMatchObject({ action: 'DistributionCreated', actor: 'olga', resource: 'distribution-d-1', traceId: TRACE });
    const { rows } = await db.query<{ n: string | number }>('SELECT count(*) AS n FROM monitor_audit_log');
    expect(Number(rows[0]!.n)).toBe(6);
  });
});

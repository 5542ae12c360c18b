import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Commands, Queries, type DeviceMetricsView, type ListDevicesQuery, type Role } from '@hotswap/contracts';
import { LocalFileArtifactStore, MessageBus, type BusSubscription } from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { createGatewayApp, issueDevToken } from '../../index.js';

/** PUT / DELETE /devices/{id}, GET /devices/{id}/metrics and the capability filters; the test plays the services. */
const jwtSecret = 'device-routes-secret';
const quiet = { warn: () => undefined, error: () => undefined };
let nats: NatsServer;
let nc: NatsConnection;
let app: INestApplication;
let url: string;
let dir: string;
const handlers: BusSubscription[] = [];
const received: Array<{ subject: string; payload: Record<string, unknown> }> = [];
const known = new Set(['dev-1']);
const metrics: DeviceMetricsView = {
  deviceId: 'dev-1',
  models: [{ modelId: 'adder-1.0.0', windows: [{ windowStart: '2030-01-01T00:00:00.000Z', windowEnd: '2030-01-01T00:00:05.000Z', count: 10, errors: 0, latencyMs: { p50: 1, p95: 2, p99: 3 } }] }],
};
const view = { id: 'dev-1', deviceType: 'cam', region: 'us-east-1', capabilities: { cpuCores: 2, gpu: true, memoryMb: 1, storageMb: 1 }, tags: [], currentModelId: null, status: 'Online', lastHeartbeat: null, lastSwapMs: null };
const notFound = (id: string) => Object.assign(new Error(`device ${id} not found`), { code: 'NOT_FOUND' });

async function call(method: string, path: string, roles: Role[] = ['Admin'], body?: object): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- checked by the assertions
  const token = await issueDevToken({ secret: jwtSecret, subject: 'ops-1', roles, ttlSeconds: 600 });
  const res = await fetch(`${url}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(join(tmpdir(), 'gw-devices-'));
  const bus = new MessageBus(nc, { logger: quiet });
  const record = (subject: string) => (p: unknown) => { received.push({ subject, payload: p as Record<string, unknown> }); return { ok: true as const, value: p as Record<string, unknown> }; };
  handlers.push(
    await bus.handle(Commands.updateDevice, {
      validate: record(Commands.updateDevice),
      handler: (c) => {
        if (!known.has(String(c['id']))) throw notFound(String(c['id']));
        if (Object.keys(c).length === 2) throw Object.assign(new Error('give at least one of deviceType, region, capabilities, tags'), { code: 'BAD_REQUEST' });
        return { ...view, ...c };
      },
    }),
    await bus.handle(Commands.deregisterDevice, {
      validate: record(Commands.deregisterDevice),
      handler: (c) => {
        if (!known.delete(String(c['id']))) throw notFound(String(c['id']));
        return { id: c['id'], status: 'Deregistered' };
      },
    }),
    await bus.handle(Queries.getDevice, {
      validate: record(Queries.getDevice),
      handler: (q) => { if (!known.has(String(q['id']))) throw notFound(String(q['id'])); return view; },
    }),
    await bus.handle(Queries.getDeviceMetrics, { validate: record(Queries.getDeviceMetrics), handler: () => metrics }),
    await bus.handle(Queries.listDevices, { validate: record(Queries.listDevices), handler: () => ({ items: [], total: 0 }) }),
  );
  app = await createGatewayApp({
    bus, artifacts: new LocalFileArtifactStore({ rootDir: dir }), jwtSecret, urlSigningSecret: 'u', maxUploadBytes: 1024, clock: () => new Date(),
  }, { host: '127.0.0.1', port: 0, logger: false });
  url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
}, 30_000);

afterAll(async () => {
  await app?.close();
  for (const h of handlers) await h.close();
  await nc?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

const last = (subject: string) => received.filter((r) => r.subject === subject).at(-1)?.payload;

describe('GET /api/v1/devices with capability filters', () => {
  it('passes gpu, minMemoryMb, minCpuCores and minStorageMb on as typed values, with paging', async () => {
    const res = await call('GET', '/api/v1/devices?gpu=true&minMemoryMb=2048&minCpuCores=2&minStorageMb=100&limit=5&offset=5', ['Viewer']);
    expect(res.status).toBe(200);
    expect(last(Queries.listDevices)).toEqual({ gpu: true, minMemoryMb: 2048, minCpuCores: 2, minStorageMb: 100, limit: 5, offset: 5 } satisfies ListDevicesQuery);
    await call('GET', '/api/v1/devices?gpu=false', ['Viewer']);
    expect(last(Queries.listDevices)).toEqual({ gpu: false });
    await call('GET', '/api/v1/devices?transport=nats', ['Viewer']);
    expect(last(Queries.listDevices)).toEqual({ transport: 'nats' });
  });

  it.each([
    ['gpu=yes', 'gpu must be true or false'],
    ['minMemoryMb=-5', 'minMemoryMb must be >= 0 (megabytes)'],
    ['minCpuCores=two', 'minCpuCores must be an integer'],
    ['transport=ftp', 'transport must be one of http, nats'],
  ])('refuses %s with 400 naming the filter', async (query, message) => {
    const res = await call('GET', `/api/v1/devices?${query}`, ['Viewer']);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(message);
  });
});

describe('PUT /api/v1/devices/{id}', () => {
  it('lets an Operator change attributes, recording who did it, and answers the device', async () => {
    const res = await call('PUT', '/api/v1/devices/dev-1', ['Operator'], { region: 'eu-central-1', tags: ['a'] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 'dev-1', region: 'eu-central-1', tags: ['a'] });
    expect(last(Commands.updateDevice)).toEqual({ id: 'dev-1', region: 'eu-central-1', tags: ['a'], actor: 'ops-1' });
  });

  it('refuses a Viewer (403), unknown fields and bad capabilities (400), an empty body (400) and an unknown device (404)', async () => {
    expect((await call('PUT', '/api/v1/devices/dev-1', ['Viewer'], { region: 'x' })).status).toBe(403);
    const unknownField = await call('PUT', '/api/v1/devices/dev-1', ['Admin'], { colour: 'red' });
    expect(unknownField).toMatchObject({ status: 400, body: { message: expect.stringContaining('colour') } });
    const bad = await call('PUT', '/api/v1/devices/dev-1', ['Admin'], { capabilities: { cpuCores: 0, gpu: true, memoryMb: 1, storageMb: 1 } });
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringContaining('capabilities.cpuCores') } });
    expect(await call('PUT', '/api/v1/devices/dev-1', ['Admin'], {})).toMatchObject({ status: 400, body: { message: 'give at least one of deviceType, region, capabilities, tags' } });
    expect((await call('PUT', '/api/v1/devices/ghost', ['Admin'], { region: 'x' })).status).toBe(404);
    expect((await call('PUT', '/api/v1/devices/bad.id', ['Admin'], { region: 'x' })).status).toBe(400);
  });
});

describe('GET /api/v1/devices/{id}/metrics', () => {
  it('serves the monitor\'s windows for a device in the fleet', async () => {
    const res = await call('GET', '/api/v1/devices/dev-1/metrics', ['Viewer']);
    expect(res).toEqual({ status: 200, body: metrics });
  });

  it('answers 404 for a device not in the fleet, without asking the monitor', async () => {
    const asked = received.filter((r) => r.subject === Queries.getDeviceMetrics).length;
    const res = await call('GET', '/api/v1/devices/ghost/metrics', ['Viewer']);
    expect(res).toMatchObject({ status: 404, body: { message: 'device ghost not found' } });
    expect(received.filter((r) => r.subject === Queries.getDeviceMetrics)).toHaveLength(asked);
  });
});

describe('DELETE /api/v1/devices/{id}', () => {
  it('refuses an Operator with 403 and leaves the device alone', async () => {
    expect((await call('DELETE', '/api/v1/devices/dev-1', ['Operator'])).status).toBe(403);
    expect(known.has('dev-1')).toBe(true);
  });

  it('lets an Admin deregister a device (204), then answers 404 for it', async () => {
    expect(await call('DELETE', '/api/v1/devices/dev-1', ['Admin'])).toEqual({ status: 204, body: undefined });
    expect(last(Commands.deregisterDevice)).toEqual({ id: 'dev-1', actor: 'ops-1' });
    expect((await call('DELETE', '/api/v1/devices/dev-1', ['Admin'])).status).toBe(404);
    expect((await call('GET', '/api/v1/devices/dev-1/metrics', ['Viewer'])).status).toBe(404);
  });
});

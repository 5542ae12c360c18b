import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import type { INestApplication } from '@nestjs/common';
import { Queries, type ModelView, type Page } from '@hotswap/contracts';
import { LocalFileArtifactStore, MessageBus, type BusSubscription } from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { createGatewayApp, issueDevToken } from '../index.js';
import { RATE_LIMIT_BUCKET } from './rate-limiter.js';

/**
 * Two gateway replicas on one nats-server share the per-user limits through the KV bucket. Windows
 * are compressed to seconds and the clock is set by the test, so nothing sleeps.
 */
jest.setTimeout(30_000);

const jwtSecret = 'rate-limit-secret';
const WINDOW_MS = 10_000;
const quiet = { warn: () => undefined, error: () => undefined };
let now = new Date('2030-06-01T12:00:00.000Z');

let nats: NatsServer;
const connections: NatsConnection[] = [];
const apps: INestApplication[] = [];
const urls: string[] = [];
let dir: string;
let listModels: BusSubscription;

const token = (subject: string, roles: Array<'Admin' | 'Viewer' | 'ModelDeveloper'> = ['Viewer']) =>
  issueDevToken({ secret: jwtSecret, subject, roles, ttlSeconds: 3600, now });
const read = async (replica: number, subject: string) =>
  fetch(`${urls[replica]}/api/v1/models`, { headers: { authorization: `Bearer ${await token(subject)}` } });

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  dir = await mkdtemp(join(tmpdir(), 'gw-rate-'));
  const services = await connect({ servers: nats.url });
  connections.push(services);
  listModels = await new MessageBus(services, { logger: quiet }).handle(Queries.listModels, {
    validate: (payload) => ({ ok: true, value: payload }),
    handler: (): Page<ModelView> => ({ items: [], total: 0 }) as unknown as Page<ModelView>,
  });
  for (let replica = 0; replica < 2; replica += 1) {
    const nc = await connect({ servers: nats.url });
    connections.push(nc);
    const app = await createGatewayApp({
      bus: new MessageBus(nc, { logger: quiet }), artifacts: new LocalFileArtifactStore({ rootDir: dir }),
      jwtSecret, urlSigningSecret: 'u', maxUploadBytes: 1024, clock: () => now, requestTimeoutMs: 2_000,
      rateLimits: { monitor: { limit: 3, windowMs: WINDOW_MS }, upload: { limit: 1, windowMs: WINDOW_MS } },
    }, { host: '127.0.0.1', port: 0, logger: false });
    apps.push(app);
    urls.push(`http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`);
  }
}, 30_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await listModels?.close();
  for (const nc of connections) await nc.close();
  await nats?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

let window = 0;
beforeEach(() => {
  // Each test starts at the beginning of a fresh window.
  window += 10;
  now = new Date(Date.UTC(2030, 5, 1) + window * WINDOW_MS);
});

describe('rate limits shared by gateway replicas', () => {
  it('counts one user\'s reads on both replicas and answers 429 with Retry-After once the limit is reached', async () => {
    const statuses = [];
    for (const replica of [0, 1, 0]) statuses.push((await read(replica, 'alice')).status);
    expect(statuses).toEqual([200, 200, 200]);
    now = new Date(now.getTime() + 2_500);
    const refused = await read(1, 'alice');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('8');
    expect(await refused.json()).toMatchObject({
      statusCode: 429,
      message: 'rate limit exceeded: at most 3 read requests per 10 s per user; retry in 8 s',
    });
  });

  it('keeps each user\'s count apart', async () => {
    for (const replica of [0, 1, 0]) await read(replica, 'bob');
    expect((await read(1, 'bob')).status).toBe(429);
    expect((await read(1, 'carol')).status).toBe(200);
  });

  it('allows the user again in the next window', async () => {
    for (const replica of [0, 1, 0]) await read(replica, 'dave');
    expect((await read(0, 'dave')).status).toBe(429);
    now = new Date(now.getTime() + WINDOW_MS);
    expect((await read(0, 'dave')).status).toBe(200);
  });

  it('loses no count when both replicas take concurrent requests of one user', async () => {
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, index) => read(index % 2, 'erin').then((r) => r.status)));
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
  });

  it('counts uploads under their own rule, apart from reads', async () => {
    const upload = async () => fetch(`${urls[0]}/api/v1/models`, {
      method: 'POST', headers: { authorization: `Bearer ${await token('frank', ['ModelDeveloper'])}`, 'content-type': 'application/json' }, body: '{}',
    });
    expect((await upload()).status).toBe(415);
    const refused = await upload();
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ message: 'rate limit exceeded: at most 1 model uploads per 10 s per user; retry in 10 s' });
    expect((await read(0, 'frank')).status).toBe(200);
  });

  it('does not count public routes', async () => {
    for (let i = 0; i < 5; i += 1) expect((await fetch(`${urls[0]}/healthz`)).status).toBe(200);
  });

  it('keeps the counters in the KV bucket, keyed by rule, user and window', async () => {
    await read(0, 'grace');
    const kv = await new Kvm(connections[0]).open(RATE_LIMIT_BUCKET);
    const entry = await kv.get(`monitor.${Buffer.from('grace').toString('base64url')}.${Math.floor(now.getTime() / WINDOW_MS)}`);
    expect(entry?.string()).toBe('1');
    expect((await kv.status()).ttl).toBe(2 * WINDOW_MS);
  });
});

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import { Commands, type IssuedApiKey, type RegisterDeviceCommand } from '@hotswap/contracts';
import { LocalFileArtifactStore, MessageBus, type BusSubscription } from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { createGatewayApp, issueDevToken } from '../index.js';
import { API_KEYS_BUCKET } from './api-key-store.js';

/** Admin-managed device registration keys, used by a second gateway replica to register devices. */
jest.setTimeout(30_000);

const jwtSecret = 'api-keys-secret';
const BOOTSTRAP_KEY = 'bootstrap-key-1';
const NOW = new Date('2030-06-01T12:00:00.000Z');
const quiet = { warn: () => undefined, error: () => undefined };
let nats: NatsServer;
const connections: NatsConnection[] = [];
const apps: INestApplication[] = [];
const urls: string[] = [];
let dir: string;
let handler: BusSubscription;
const registered: RegisterDeviceCommand[] = [];
let admin: string;

const device = { id: 'cam-1', deviceType: 'edge-camera', region: 'eu', capabilities: { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 2048 } };
const register = (apiKey: string, replica = 1) => fetch(`${urls[replica]}/api/v1/devices`, {
  method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: JSON.stringify(device),
});
const adminCall = (method: string, path: string, body?: object) => fetch(`${urls[0]}/api/v1/api-keys${path}`, {
  method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const createKey = async (name: string) => (await (await adminCall('POST', '', { name })).json()) as IssuedApiKey;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  dir = await mkdtemp(join(tmpdir(), 'gw-api-keys-'));
  const services = await connect({ servers: nats.url });
  connections.push(services);
  handler = await new MessageBus(services, { logger: quiet }).handle(Commands.registerDevice, {
    validate: (p) => ({ ok: true, value: p as RegisterDeviceCommand }),
    handler: (command) => {
      registered.push(command);
      return { id: command.id ?? 'x', token: 'CREDS', inboxPrefix: '_INBOX_x' };
    },
  });
  for (let replica = 0; replica < 2; replica += 1) {
    const nc = await connect({ servers: nats.url });
    connections.push(nc);
    const app = await createGatewayApp({
      bus: new MessageBus(nc, { logger: quiet }), artifacts: new LocalFileArtifactStore({ rootDir: dir }),
      jwtSecret, urlSigningSecret: 'u', maxUploadBytes: 1024, clock: () => NOW,
      registrationApiKeySha256: [createHash('sha256').update(BOOTSTRAP_KEY).digest('hex')],
    }, { host: '127.0.0.1', port: 0, logger: false });
    apps.push(app);
    urls.push(`http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`);
  }
  admin = await issueDevToken({ secret: jwtSecret, subject: 'root', roles: ['Admin'], ttlSeconds: 600, now: NOW });
}, 30_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await handler?.close();
  for (const nc of connections) await nc.close();
  await nats?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('device registration API keys managed by an Admin', () => {
  it('creates a key that registers devices on any replica, recorded as the actor', async () => {
    const response = await adminCall('POST', '', { name: 'factory line 1' });
    expect(response.status).toBe(201);
    const issued = (await response.json()) as IssuedApiKey;
    expect(issued).toMatchObject({ name: 'factory line 1', status: 'active', createdAt: NOW.toISOString(), createdBy: 'root' });
    expect(issued.key).toMatch(new RegExp(`^hsk_${issued.id}_`));
    expect((await register(issued.key)).status).toBe(201);
    expect(registered.at(-1)?.actor).toBe(`api-key:${issued.id}`);
  });

  it('keeps only the SHA-256 of the key in the bucket', async () => {
    const issued = await createKey('hash check');
    const entry = await (await new Kvm(connections[0]).open(API_KEYS_BUCKET)).get(issued.id);
    const stored = entry?.string() ?? '';
    expect(stored).not.toContain(issued.key.slice(21));
    expect(JSON.parse(stored)).toMatchObject({ sha256: createHash('sha256').update(issued.key).digest('hex') });
  });

  it('lists the keys with their metadata and never the key or its hash', async () => {
    const issued = await createKey('listed');
    const response = await adminCall('GET', '');
    expect(response.status).toBe(200);
    const { items } = (await response.json()) as { items: Array<Record<string, unknown>> };
    expect(items).toContainEqual({ id: issued.id, name: 'listed', status: 'active', createdAt: NOW.toISOString(), createdBy: 'root' });
    for (const item of items) {
      expect(item).not.toHaveProperty('key');
      expect(item).not.toHaveProperty('sha256');
    }
  });

  it('rotates a key: the new key works and the old one stops at once', async () => {
    const old = await createKey('rotated');
    const response = await adminCall('POST', `/${old.id}/rotate`);
    expect(response.status).toBe(200);
    const fresh = (await response.json()) as IssuedApiKey;
    expect(fresh).toMatchObject({ id: old.id, rotatedAt: NOW.toISOString(), status: 'active' });
    expect(fresh.key).not.toBe(old.key);
    expect((await register(old.key)).status).toBe(401);
    expect((await register(fresh.key)).status).toBe(201);
  });

  it('revokes a key: it stops working at once on every replica and is listed as revoked', async () => {
    const issued = await createKey('revoked');
    expect((await register(issued.key, 1)).status).toBe(201);
    const response = await adminCall('DELETE', `/${issued.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: issued.id, status: 'revoked', revokedAt: NOW.toISOString() });
    const refused = await register(issued.key, 1);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ message: 'X-Api-Key is not a valid device registration key' });
    const { items } = (await (await adminCall('GET', '')).json()) as { items: Array<{ id: string; status: string }> };
    expect(items.find((item) => item.id === issued.id)?.status).toBe('revoked');
  });

  it('refuses to rotate or revoke a revoked key (409)', async () => {
    const issued = await createKey('gone');
    await adminCall('DELETE', `/${issued.id}`);
    for (const [method, path] of [['POST', `/${issued.id}/rotate`], ['DELETE', `/${issued.id}`]] as const) {
      const response = await adminCall(method, path);
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ message: `API key ${issued.id} was revoked at ${NOW.toISOString()}` });
    }
  });

  it.each([
    ['an unknown id', '/0123456789abcdef/rotate', 'no API key 0123456789abcdef'],
    ['a malformed id', '/not-an-id/rotate', 'no API key not-an-id'],
  ])('answers 404 for %s', async (_case, path, message) => {
    const response = await adminCall('POST', path);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ message });
  });

  it.each([
    [{}, 'name must be a string'],
    [{ name: '   ' }, 'name must not be blank'],
    [{ name: 'x'.repeat(101) }, 'name must be at most 100 characters'],
  ])('refuses to create a key from %j with 400 naming the field, storing nothing', async (body, message) => {
    const before = ((await (await adminCall('GET', '')).json()) as { items: unknown[] }).items.length;
    const response = await adminCall('POST', '', body);
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain(message);
    expect(((await (await adminCall('GET', '')).json()) as { items: unknown[] }).items).toHaveLength(before);
  });

  it('still accepts the bootstrap key and refuses keys it does not know', async () => {
    expect((await register(BOOTSTRAP_KEY)).status).toBe(201);
    expect((await register('hsk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(401);
    expect((await register('something-else')).status).toBe(401);
  });
});

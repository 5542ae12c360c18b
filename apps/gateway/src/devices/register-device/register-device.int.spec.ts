import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Commands, type RegisterDeviceCommand } from '@hotswap/contracts';
import { LocalFileArtifactStore, MessageBus, type BusSubscription } from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { createGatewayApp, issueDevToken } from '../../index.js';

const jwtSecret = 'register-test-secret';
const API_KEY = 'provisioning-key-123';
const quiet = { warn: () => undefined, error: () => undefined };
let nats: NatsServer;
let nc: NatsConnection;
let app: INestApplication;
let url: string;
let dir: string;
let handler: BusSubscription;
const received: RegisterDeviceCommand[] = [];

const body = { id: 'cam-77', deviceType: 'edge-camera', region: 'us-east-1', capabilities: { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 2048 } };
const post = (headers: Record<string, string>, payload: object = body) =>
  fetch(`${url}/api/v1/devices`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });
const token = (roles: Array<'Admin' | 'Viewer'>) => issueDevToken({ secret: jwtSecret, subject: 'ops-1', roles, ttlSeconds: 600 });

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(join(tmpdir(), 'gw-register-'));
  const bus = new MessageBus(nc, { logger: quiet });
  handler = await bus.handle(Commands.registerDevice, {
    validate: (p) => ({ ok: true, value: p as RegisterDeviceCommand }),
    handler: (command) => {
      received.push(command);
      return { id: command.id ?? 'dev-generated', token: 'CREDS', inboxPrefix: `_INBOX_${command.id}` };
    },
  });
  app = await createGatewayApp({
    bus, artifacts: new LocalFileArtifactStore({ rootDir: dir }), jwtSecret, urlSigningSecret: 'u', maxUploadBytes: 1024, clock: () => new Date(),
    registrationApiKeySha256: [createHash('sha256').update(API_KEY).digest('hex')],
  }, { host: '127.0.0.1', port: 0, logger: false });
  url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
}, 30_000);

afterAll(async () => {
  await app?.close();
  await handler?.close();
  await nc?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('POST /api/v1/devices', () => {
  it('registers a device with the registration API key and returns its id and credentials (201)', async () => {
    const res = await post({ 'x-api-key': API_KEY });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ id: 'cam-77', token: 'CREDS', inboxPrefix: '_INBOX_cam-77' });
    expect(received.at(-1)).toMatchObject({ ...body, actor: expect.stringMatching(/^api-key:[0-9a-f]{12}$/) });
  });

  it('accepts an Admin bearer token instead of the key, recording the admin as the actor', async () => {
    const res = await post({ authorization: `Bearer ${await token(['Admin'])}` });
    expect(res.status).toBe(201);
    expect(received.at(-1)?.actor).toBe('ops-1');
  });

  it('refuses a wrong API key with 401 and asks nothing of the registry', async () => {
    const before = received.length;
    const res = await post({ 'x-api-key': 'guess' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toBe('X-Api-Key is not a valid device registration key');
    expect(received).toHaveLength(before);
  });

  it('refuses a missing key and token with 401, and a non-Admin token with 403', async () => {
    expect((await post({})).status).toBe(401);
    const res = await post({ authorization: `Bearer ${await token(['Viewer'])}` });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toContain('needs the Admin role');
  });

  it('refuses bad fields with 400 naming them', async () => {
    const res = await post({ 'x-api-key': API_KEY }, { ...body, id: 'cam.1', capabilities: { cpuCores: 0 } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/id must be letters.*cpuCores/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Streams, type DistributionStatusView } from '@hotswap/contracts';
import { EdgeAgent, silentLogger } from '@hotswap/edge-agent';
import { issueDevToken } from '@hotswap/gateway';
import { generateSigningKeyPair, JetStreamEventStore, LocalFileArtifactStore, PgDatabase } from '@hotswap/infrastructure';
import { makeAddModel, startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { startControlPlane, type ControlPlane } from '@hotswap/cli';

const PG_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `e2e_versions_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const jwtSecret = 'e2e-jwt-secret';

let nats: NatsServer;
let db: PgDatabase;
let dataDir: string;
let controlPlane: ControlPlane;
let agents: EdgeAgent[];
let artifacts: LocalFileArtifactStore;
let events: JetStreamEventStore;
let manifestPublicKeyPem: string;
const makeAgent = (deviceId: string, i: number) => new EdgeAgent({
  deviceId, deviceType: 'edge-camera', region: i === 0 ? 'us-west-1' : 'eu-central-1',
  capabilities: { cpuCores: 2, gpu: false, memoryMb: 2048, storageMb: 8192 }, tags: ['e2e-versions'],
  natsServers: nats.url, dataDir: join(dataDir, 'devices', deviceId), manifestPublicKeyPem,
  heartbeatIntervalMs: 200, telemetryIntervalMs: 500, graceMs: 50, logger: silentLogger,
});
const adminToken = () => issueDevToken({ secret: jwtSecret, subject: 'e2e-admin', roles: ['Admin'], ttlSeconds: 600 });
const DEVICES = ['ver-dev-a', 'ver-dev-b'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions
async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${controlPlane.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${await adminToken()}`, ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function upload(name: string, version: string, bytes: Buffer, framework = 'onnx') {
  const form = new FormData();
  form.set('name', name);
  form.set('version', version);
  form.set('framework', framework);
  form.set('checksum', createHash('sha256').update(bytes).digest('hex'));
  form.set('artifact', new Blob([bytes]), `${name}.onnx`);
  return api('/api/v1/models', { method: 'POST', body: form });
}

/** Distribution needs a validated model (the default): waits for the validator's verdict on the upload. */
async function waitForValidated(modelId: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api(`/api/v1/models/${modelId}`);
    if (body?.status === 'Validated') return;
    if (body?.status === 'Rejected' || Date.now() > deadline) throw new Error(`model ${modelId} is ${body?.status}, not Validated`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForStatus(id: string, wanted: DistributionStatusView['status'][], timeoutMs = 60_000): Promise<DistributionStatusView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api(`/api/v1/distributions/${id}/status`);
    if (wanted.includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`distribution ${id} stayed ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answer(agent: EdgeAgent, value = 0): Promise<number> {
  const result = await agent.infer({ x: new ort.Tensor('float32', Float32Array.from([value, value, value, value]), [1, 4]) });
  return (result.outputs['y']!.data as Float32Array)[0]! - value;
}

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  db = await PgDatabase.connect({ connectionString: PG_URL, schema });
  dataDir = await mkdtemp(join(tmpdir(), 'hotswap-e2e-'));
  const keys = generateSigningKeyPair();
  artifacts = new LocalFileArtifactStore({ rootDir: join(dataDir, 'artifacts') });
  controlPlane = await startControlPlane({
    natsUrl: nats.url,
    db,
    artifacts,
    secrets: { jwtSecret, urlSigningSecret: 'e2e-url-secret', manifestPrivateKeyPem: keys.privateKeyPem },
    http: { host: '127.0.0.1', port: 0 },
    quiet: true,
  });
  manifestPublicKeyPem = keys.publicKeyPem;
  agents = ['ver-dev-a', 'ver-dev-b'].map(makeAgent);
  await Promise.all(agents.map((a) => a.start()));
  events = await JetStreamEventStore.connect({ servers: nats.url });
  // Both devices are in the fleet read model once their announcements are projected.
  const deadline = Date.now() + 20_000;
  while ((await api('/api/v1/devices?tag=e2e-versions')).body?.total !== 2) {
    if (Date.now() > deadline) throw new Error('devices did not register');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 120_000);

afterAll(async () => {
  await events?.close();
  await Promise.all((agents ?? []).map((a) => a.stop()));
  await controlPlane?.close();
  if (db) {
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.close();
  }
  await nats?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

/** Distributes `modelId` to both devices and waits for the verdict. */
async function distributeToAll(modelId: string): Promise<DistributionStatusView> {
  const created = await api('/api/v1/distributions', { method: 'POST', body: JSON.stringify({ modelId, strategy: 'Direct', targetDevices: DEVICES }) });
  expect(created.status).toBe(202);
  return waitForStatus(created.body.id, ['Succeeded', 'Failed']);
}

/** Waits until the fleet read model shows both devices on `modelId`. */
async function bothRun(modelId: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await api(`/api/v1/devices?modelId=${modelId}`)).body?.total !== 2) {
    if (Date.now() > deadline) throw new Error(`the devices do not run ${modelId}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('model versions end to end: delete guarded by the fleet, rollback through a distribution', () => {
  it('uploads three versions and lists them newest first', async () => {
    for (const [version, addend] of [['1.0.0', 1], ['2.0.0', 2], ['3.0.0', 3]] as const) {
      expect((await upload('scaler', version, makeAddModel({ addend }))).status).toBe(202);
    }
    for (const version of ['1.0.0', '2.0.0', '3.0.0']) await waitForValidated(`scaler-${version}`);
    const history = await api('/api/v1/models/scaler/versions');
    expect(history.status).toBe(200);
    expect(history.body.items.map((v: { version: string; status: string }) => `${v.version} ${v.status}`)).toEqual(['3.0.0 Validated', '2.0.0 Validated', '1.0.0 Validated']);
  }, 90_000);

  it('refuses to delete a version while devices run it, and deletes it once they moved on', async () => {
    expect((await distributeToAll('scaler-1.0.0')).status).toBe('Succeeded');
    await bothRun('scaler-1.0.0');
    const refused = await api('/api/v1/models/scaler/versions/1.0.0', { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe('model scaler-1.0.0 runs on 2 devices (ver-dev-a, ver-dev-b); move them to another version before deleting it');
    const key = (await events.readStream(Streams.model('scaler-1.0.0')))[0]!.data['artifactKey'] as string;
    expect(await artifacts.exists(key)).toBe(true);

    expect((await distributeToAll('scaler-2.0.0')).status).toBe('Succeeded');
    await bothRun('scaler-2.0.0');
    for (const agent of agents) expect(await answer(agent)).toBe(2);
    const deleted = await api('/api/v1/models/scaler/versions/1.0.0', { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ id: 'scaler-1.0.0', status: 'Deleted', deletedBy: 'e2e-admin' });
    expect(await artifacts.exists(key)).toBe(false);
    const recorded = (await events.readStream(Streams.model('scaler-1.0.0'))).at(-1)!;
    expect(recorded).toMatchObject({ type: 'ModelVersionDeleted', data: { modelId: 'scaler-1.0.0', artifactKey: key }, metadata: { actor: 'e2e-admin' } });
    expect((await api('/api/v1/models/scaler/versions/1.0.0')).status).toBe(404);
    expect((await api('/api/v1/models/scaler/versions')).body.items.map((v: { version: string }) => v.version)).toEqual(['3.0.0', '2.0.0']);
  }, 90_000);

  it('rolls back to a version: the devices running the name get it again', async () => {
    expect((await distributeToAll('scaler-3.0.0')).status).toBe('Succeeded');
    await bothRun('scaler-3.0.0');
    const rollback = await api('/api/v1/models/scaler/versions/2.0.0/rollback', { method: 'POST' });
    expect(rollback.status).toBe(202);
    const status = await waitForStatus(rollback.body.id, ['Succeeded', 'Failed']);
    expect(status).toMatchObject({ modelId: 'scaler-2.0.0', strategy: 'Direct', status: 'Succeeded', progress: { total: 2, updated: 2 } });
    await bothRun('scaler-2.0.0');
    for (const agent of agents) expect(await answer(agent)).toBe(2);

    const deprecated = await api('/api/v1/models/scaler/versions/3.0.0/deprecate', { method: 'POST', body: JSON.stringify({ reason: 'too large an addend' }) });
    expect(deprecated.body).toMatchObject({ status: 'Deprecated', deprecatedBy: 'e2e-admin', deprecationReason: 'too large an addend' });
    const refused = await api('/api/v1/models/scaler/versions/3.0.0/rollback', { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/^model scaler-3\.0\.0 is Deprecated/);
    const gone = await api('/api/v1/models/scaler/versions/1.0.0/rollback', { method: 'POST' });
    expect(gone.status).toBe(409);
    expect(gone.body.message).toMatch(/^model scaler-1\.0\.0 was deleted at .+; it cannot be rolled back to$/);
  }, 90_000);
});

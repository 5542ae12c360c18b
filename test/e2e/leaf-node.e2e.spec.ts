import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { DistributionStatusView } from '@hotswap/contracts';
import { EdgeAgent, silentLogger } from '@hotswap/edge-agent';
import { issueDevToken } from '@hotswap/gateway';
import { generateSigningKeyPair, LocalFileArtifactStore, PgliteDatabase } from '@hotswap/infrastructure';
import { freePort, makeAddModel, startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { startControlPlane, type ControlPlane } from '@hotswap/cli';

/**
 * Devices behind a NATS leaf node, the production topology: the control plane on a hub
 * nats-server (JetStream), the edge agents on a leaf nats-server (no JetStream) that links to the
 * hub. The leaf goes down in the middle of a rollout and comes back on the same port; the devices
 * reconnect, sync their desired model and the distribution completes.
 */
const jwtSecret = 'leaf-e2e-jwt-secret';
const DEVICES = ['leaf-dev-a', 'leaf-dev-b'];
let dir: string;
let hub: NatsServer;
let leaf: NatsServer;
let db: PgliteDatabase;
let controlPlane: ControlPlane;
let agents: EdgeAgent[] = [];
let manifestPublicKeyPem: string;

const adminToken = () => issueDevToken({ secret: jwtSecret, subject: 'leaf-admin', roles: ['Admin'], ttlSeconds: 600 });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions
async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${controlPlane.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${await adminToken()}`, ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function until<T>(what: string, read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether a request from the hub reaches a responder on the leaf: the leaf link is up. */
async function linkUp(): Promise<boolean> {
  let onLeaf: NatsConnection | undefined;
  let onHub: NatsConnection | undefined;
  try {
    onLeaf = await connect({ servers: leaf.url, reconnect: false });
    onLeaf.subscribe('leaf-e2e.ping', { callback: (_e, msg) => { msg.respond('pong'); } });
    await onLeaf.flush();
    onHub = await connect({ servers: hub.url, reconnect: false });
    return (await onHub.request('leaf-e2e.ping', '', { timeout: 500 })).string() === 'pong';
  } catch {
    return false;
  } finally {
    await onLeaf?.close();
    await onHub?.close();
  }
}

async function upload(name: string, version: string, bytes: Buffer) {
  const form = new FormData();
  form.set('name', name);
  form.set('version', version);
  form.set('framework', 'onnx');
  form.set('checksum', createHash('sha256').update(bytes).digest('hex'));
  form.set('artifact', new Blob([bytes]), `${name}.onnx`);
  expect((await api('/api/v1/models', { method: 'POST', body: form })).status).toBe(202);
  await until(`model ${name}-${version} validated`, async () => (await api(`/api/v1/models/${name}-${version}`)).body?.status, (s) => s === 'Validated' || s === 'Rejected');
}

const distributionStatus = async (id: string): Promise<DistributionStatusView> => (await api(`/api/v1/distributions/${id}/status`)).body;

async function answer(agent: EdgeAgent): Promise<number> {
  const result = await agent.infer({ x: new ort.Tensor('float32', Float32Array.from([0, 0, 0, 0]), [1, 4]) });
  return (result.outputs['y']!.data as Float32Array)[0]!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotswap-leaf-'));
  const leafPort = await freePort();
  await writeFile(join(dir, 'hub.conf'), `leafnodes { listen: "127.0.0.1:${leafPort}" }\n`);
  // The leaf redials the hub every second while the link is down (whole seconds only).
  await writeFile(join(dir, 'leaf.conf'), `leafnodes { reconnect: 1, remotes = [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }\n`);
  hub = await startNatsServer({ jetstream: true, config: join(dir, 'hub.conf') });
  leaf = await startNatsServer({ jetstream: false, config: join(dir, 'leaf.conf') });
  await until('leaf link up', linkUp, (up) => up);

  db = await PgliteDatabase.open();
  const keys = generateSigningKeyPair();
  manifestPublicKeyPem = keys.publicKeyPem;
  controlPlane = await startControlPlane({
    natsUrl: hub.url, db,
    artifacts: new LocalFileArtifactStore({ rootDir: join(dir, 'artifacts') }),
    secrets: { jwtSecret, urlSigningSecret: 'leaf-e2e-url-secret', manifestPrivateKeyPem: keys.privateKeyPem },
    http: { host: '127.0.0.1', port: 0 },
    quiet: true,
  });
  agents = DEVICES.map((deviceId) => new EdgeAgent({
    deviceId, deviceType: 'edge-camera', region: 'eu-central-1', tags: ['leaf'],
    capabilities: { cpuCores: 2, gpu: false, memoryMb: 2048, storageMb: 8192 },
    natsServers: leaf.url, natsOptions: { reconnectTimeWait: 100 },
    dataDir: join(dir, 'devices', deviceId), manifestPublicKeyPem,
    heartbeatIntervalMs: 200, telemetryIntervalMs: 500, graceMs: 50, requestTimeoutMs: 500, retryMaxDelayMs: 300, logger: silentLogger,
  }));
  await Promise.all(agents.map((a) => a.start()));
  await until('devices registered through the leaf', async () => (await api('/api/v1/devices?tag=leaf&status=Online')).body?.total, (n) => n === DEVICES.length);
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await controlPlane?.close();
  await db?.close();
  await leaf?.stop();
  await hub?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('devices behind a NATS leaf node', () => {
  it('converge on a Direct distribution when the leaf goes down mid-rollout and comes back', async () => {
    await upload('leafadder', '1.0.0', makeAddModel({ addend: 1 }));
    const created = await api('/api/v1/distributions', { method: 'POST', body: JSON.stringify({ modelId: 'leafadder-1.0.0', strategy: 'Direct', targetDevices: DEVICES }) });
    expect(created.status).toBe(202);

    // Cut the link at once: the swap commands and the devices' reports cannot cross it now.
    await leaf.kill();
    const during = await distributionStatus(created.body.id);
    expect(during.status).toBe('Running');
    expect(during.progress.updated).toBeLessThan(DEVICES.length);

    await leaf.restart();
    const done = await until('distribution finished', () => distributionStatus(created.body.id), (s) => s.status !== 'Running', 60_000);
    expect(done).toMatchObject({ status: 'Succeeded', progress: { total: 2, updated: 2, failed: 0, pending: 0 } });
    for (const agent of agents) expect(await answer(agent)).toBe(1);
    const devices = (await api('/api/v1/devices?modelId=leafadder-1.0.0')).body;
    expect(devices.items.map((d: { id: string }) => d.id).sort()).toEqual(DEVICES);
  }, 120_000);
});

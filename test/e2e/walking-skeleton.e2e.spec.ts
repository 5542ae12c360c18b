import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeviceSubjects, type DistributionStatusView } from '@hotswap/contracts';
import { EdgeAgent, silentLogger } from '@hotswap/edge-agent';
import { issueDevToken } from '@hotswap/gateway';
import { generateSigningKeyPair, LocalFileArtifactStore, PgDatabase } from '@hotswap/infrastructure';
import { makeAddModel, startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { startControlPlane, type ControlPlane } from '@hotswap/cli';

const PG_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `e2e_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const jwtSecret = 'e2e-jwt-secret';

let nats: NatsServer;
let db: PgDatabase;
let dataDir: string;
let controlPlane: ControlPlane;
let agents: EdgeAgent[];
let probe: NatsConnection;
let manifestPublicKeyPem: string;
const makeAgent = (deviceId: string, i: number) => new EdgeAgent({
  deviceId, deviceType: 'edge-camera', region: i === 0 ? 'us-west-1' : 'eu-central-1',
  capabilities: { cpuCores: 2, gpu: false, memoryMb: 2048, storageMb: 8192 }, tags: ['e2e'],
  natsServers: nats.url, dataDir: join(dataDir, 'devices', deviceId), manifestPublicKeyPem,
  heartbeatIntervalMs: 200, telemetryIntervalMs: 500, graceMs: 50, logger: silentLogger,
});
const adminToken = () => issueDevToken({ secret: jwtSecret, subject: 'e2e-admin', roles: ['Admin'], ttlSeconds: 600 });

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
  controlPlane = await startControlPlane({
    natsUrl: nats.url,
    db,
    artifacts: new LocalFileArtifactStore({ rootDir: join(dataDir, 'artifacts') }),
    secrets: { jwtSecret, urlSigningSecret: 'e2e-url-secret', manifestPrivateKeyPem: keys.privateKeyPem },
    http: { host: '127.0.0.1', port: 0 },
    quiet: true,
  });
  manifestPublicKeyPem = keys.publicKeyPem;
  agents = ['e2e-dev-a', 'e2e-dev-b'].map(makeAgent);
  await Promise.all(agents.map((a) => a.start()));
  probe = await connect({ servers: nats.url });
  // Both devices are in the fleet read model once their announcements are projected.
  const deadline = Date.now() + 20_000;
  while ((await api('/api/v1/devices?tag=e2e')).body?.total !== 2) {
    if (Date.now() > deadline) throw new Error('devices did not register');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 120_000);

afterAll(async () => {
  await probe?.close();
  await Promise.all((agents ?? []).map((a) => a.stop()));
  await controlPlane?.close();
  if (db) {
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.close();
  }
  await nats?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('walking skeleton: upload, distribute Direct, hot-swap on two edge agents', () => {
  it('distributes v1 to both devices, which then answer x + 1', async () => {
    const uploaded = await upload('adder', '1.0.0', makeAddModel({ addend: 1 }));
    expect(uploaded.status).toBe(202);
    expect(uploaded.body).toMatchObject({ id: 'adder-1.0.0', status: 'Uploaded', framework: 'onnx' });
    await waitForValidated('adder-1.0.0');
    const report = await api('/api/v1/models/adder-1.0.0/validation-report');
    expect(report.body).toMatchObject({ modelId: 'adder-1.0.0', status: 'Passed', ranOn: 'validator' });
    expect(report.body.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);

    const created = await api('/api/v1/distributions', {
      method: 'POST', body: JSON.stringify({ modelId: 'adder-1.0.0', strategy: 'Direct', targetDevices: ['e2e-dev-a', 'e2e-dev-b'] }),
    });
    expect(created.status).toBe(202);
    const status = await waitForStatus(created.body.id, ['Succeeded', 'Failed']);
    expect(status).toMatchObject({ status: 'Succeeded', progress: { total: 2, updated: 2, failed: 0, pending: 0 } });
    for (const device of status.devices) expect(device.swapMs).toBeGreaterThan(0);

    for (const agent of agents) expect(await answer(agent)).toBe(1);
    const devices = (await api('/api/v1/devices?modelId=adder-1.0.0')).body;
    expect(devices.items.map((d: { id: string }) => d.id).sort()).toEqual(['e2e-dev-a', 'e2e-dev-b']);
  }, 90_000);

  it('swaps v1 for v2 under continuous inference with zero failures and a single switch', async () => {
    expect((await upload('adder', '2.0.0', makeAddModel({ addend: 2 }))).status).toBe(202);
    await waitForValidated('adder-2.0.0');
    const answers: number[] = [];
    let failures = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          answers.push(await answer(agents[0]!));
        } catch {
          failures++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();

    const created = await api('/api/v1/distributions', {
      method: 'POST', body: JSON.stringify({ modelId: 'adder-2.0.0', strategy: 'Direct', targetDevices: ['e2e-dev-a', 'e2e-dev-b'] }),
    });
    expect(created.status).toBe(202);
    const status = await waitForStatus(created.body.id, ['Succeeded', 'Failed']);
    // Keep serving a little after the swap so answers after it are observed too.
    const after = answers.length;
    while (answers.length < after + 50) await new Promise((r) => setTimeout(r, 5));
    running = false;
    await loop;

    expect(status.status).toBe('Succeeded');
    expect(failures).toBe(0);
    const switches = answers.filter((a, i) => i > 0 && a !== answers[i - 1]);
    expect(answers[0]).toBe(1);
    expect(answers[answers.length - 1]).toBe(2);
    expect(switches).toEqual([2]);
    expect(await answer(agents[1]!)).toBe(2);
  }, 90_000);

  it('a device offline during the rollout serves its last model on restart, then converges through sync', async () => {
    await agents[1]!.stop();
    expect((await upload('adder', '3.0.0', makeAddModel({ addend: 3 }))).status).toBe(202);
    await waitForValidated('adder-3.0.0');
    const created = await api('/api/v1/distributions', {
      method: 'POST', body: JSON.stringify({ modelId: 'adder-3.0.0', strategy: 'Direct', targetDevices: ['e2e-dev-a', 'e2e-dev-b'] }),
    });
    expect(created.status).toBe(202);
    const deadline = Date.now() + 30_000;
    while ((await api(`/api/v1/distributions/${created.body.id}/status`)).body.progress.updated < 1) {
      if (Date.now() > deadline) throw new Error('device a was not updated');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await api(`/api/v1/distributions/${created.body.id}/status`)).body.status).toBe('Running');

    const restarted = makeAgent('e2e-dev-b', 1);
    agents[1] = restarted;
    await restarted.start();
    expect(await answer(restarted)).toBe(2); // the last good model, from disk, before any network
    const status = await waitForStatus(created.body.id, ['Succeeded', 'Failed']);
    expect(status.status).toBe('Succeeded');
    expect(await answer(restarted)).toBe(3);
  }, 90_000);

  it('rejects a non-ONNX file declared onnx with 400 and leaves nothing behind', async () => {
    const res = await upload('not-a-model', '1.0.0', Buffer.from('this is plain text, not a protobuf ModelProto'));
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/not an ONNX model|not an ONNX ModelProto/);
    expect((await api('/api/v1/models/not-a-model-1.0.0')).status).toBe(404);
    expect((await api('/api/v1/models?name=not-a-model')).body.total).toBe(0);
    const stored = await readdir(join(dataDir, 'artifacts'), { recursive: true });
    expect(stored.filter((f) => String(f).includes('not-a-model') || /^staging\/.+/.test(String(f)))).toEqual([]);
  }, 30_000);

  it('names the unknown model and the unknown device of a distribution', async () => {
    const unknownModel = await api('/api/v1/distributions', {
      method: 'POST', body: JSON.stringify({ modelId: 'ghost-9.9.9', strategy: 'Direct', targetDevices: ['e2e-dev-a'] }),
    });
    expect(unknownModel.status).toBe(404);
    expect(unknownModel.body.message).toContain('ghost-9.9.9');
    const unknownDevice = await api('/api/v1/distributions', {
      method: 'POST', body: JSON.stringify({ modelId: 'adder-3.0.0', strategy: 'Direct', targetDevices: ['e2e-dev-a', 'nowhere-1'] }),
    });
    expect(unknownDevice.status).toBe(404);
    expect(unknownDevice.body.message).toContain('nowhere-1');
  }, 30_000);

  it('rejects a malformed device command with a reason while the agent keeps serving', async () => {
    const reply = await probe.request(DeviceSubjects.command('e2e-dev-a'), '{"type":"swap","commandId":', { timeout: 5_000 });
    expect(reply.json()).toMatchObject({ accepted: false, reason: expect.stringContaining('malformed JSON') });
    expect(await answer(agents[0]!)).toBe(3);
  }, 30_000);
});

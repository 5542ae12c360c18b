import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import onnxProto from 'onnx-proto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeviceSubjects, deviceIdOfSubject, FINISHED_DISTRIBUTION_STATUSES, type ArtifactChunkRequest } from '@hotswap/contracts';
import type { AgentLogger, EdgeAgent } from '@hotswap/edge-agent';
import { eventually, makeAddModel } from '@hotswap/infrastructure/testing';
import { answer } from './support/e2e-stack.js';
import { startLeafTopology, type LeafTopology } from './support/leaf-topology.js';

/**
 * Issue 8: sites whose only way out is their NATS leaf node. The devices report the `nats`
 * transport capability and never touch HTTP; they pull the model in chunks on their own
 * `.artifact` subjects through the leaf, the leaf dies mid-transfer and comes back, and the
 * transfer continues from the bytes on disk instead of starting over.
 */
const DEVICES = ['nleaf-a', 'nleaf-b'];
const CHUNK = 32 * 1024;
/** A valid ONNX model padded with a large doc string, so the transfer takes many chunks. */
const ARTIFACT_BYTES = 12 * 1024 * 1024;
let topology: LeafTopology;
let agents: EdgeAgent[] = [];
let watcher: NatsConnection;
const logs: Array<{ deviceId: string; message: string; fields?: Record<string, unknown> }> = [];
/** Every chunk request that reached the hub, in order, with whether the leaf had been cut before it. */
const requests: Array<{ deviceId: string; offset: number; afterCut: boolean }> = [];
let cut = false;

function paddedModel(addend: number, size: number): Buffer {
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(makeAddModel({ addend }));
  model.docString = 'p'.repeat(size);
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

const capturing = (deviceId: string): AgentLogger => {
  const log = (message: string, fields?: Record<string, unknown>) => { logs.push({ deviceId, message, fields }); };
  return { debug: () => undefined, info: log, warn: log, error: log };
};

beforeAll(async () => {
  topology = await startLeafTopology('leaf-nats-e2e');

  // Watches the chunk requests crossing to the hub, and cuts the leaf once device A is well into its transfer.
  watcher = await connect({ servers: topology.hub.url });
  watcher.subscribe(DeviceSubjects.all.artifact, {
    callback: (_e, msg) => {
      const deviceId = deviceIdOfSubject(msg.subject) as string;
      const { offset } = msg.json<ArtifactChunkRequest>();
      requests.push({ deviceId, offset, afterCut: cut });
      if (!cut && deviceId === DEVICES[0] && offset >= 2 * 1024 * 1024) {
        cut = true;
        void topology.cutLeaf();
      }
    },
  });
  await watcher.flush();

  agents = DEVICES.map((deviceId) => topology.makeAgent(deviceId, 'nats-leaf', {
    deviceType: 'edge-sensor',
    capabilities: { cpuCores: 2, gpu: false, memoryMb: 2048, storageMb: 8192, transport: 'nats' },
    // One chunk at a time: the transfer takes long enough to be cut in the middle.
    natsChunkBytes: CHUNK, natsChunkWindow: 1, natsChunkTimeoutMs: 1_000, downloadBackoffBaseMs: 50, downloadBackoffMaxMs: 300, downloadRetries: 20,
    logger: capturing(deviceId),
  }));
  await Promise.all(agents.map((a) => a.start()));
  await topology.waitForDevices('nats-leaf', DEVICES.length, 30_000, 'Online');
}, 120_000);

afterAll(async () => {
  await watcher?.close();
  await topology?.close();
}, 60_000);

describe('devices on a leaf node with no HTTP route get their model over NATS', () => {
  it('a distribution with an unknown transport is refused with 400 naming the field', async () => {
    const reply = await topology.api('/api/v1/distributions', { method: 'POST', body: JSON.stringify({ modelId: 'x-1.0.0', strategy: 'Direct', targetDevices: DEVICES, transport: 'carrier-pigeon' }) });
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body)).toContain('transport must be one of auto, http, nats');
  });

  it('resume their transfer from its offset when the leaf is cut mid-transfer and restored, and the rollout succeeds', async () => {
    const { api } = topology;
    const bytes = paddedModel(1, ARTIFACT_BYTES);
    expect((await topology.upload('natsadder', '1.0.0', bytes)).status).toBe(202);
    await topology.waitForValidated('natsadder-1.0.0', 60_000);

    const created = await api('/api/v1/distributions', { method: 'POST', body: JSON.stringify({ modelId: 'natsadder-1.0.0', strategy: 'Direct', targetDevices: DEVICES }) });
    expect(created.status).toBe(202);

    await eventually(() => cut, (c) => c, 60_000, 20);
    // The link is down: the transfer cannot finish now.
    expect((await api(`/api/v1/distributions/${created.body.id}/status`)).body.status).toBe('Running');
    await topology.restoreLeaf();

    const done = await topology.waitForStatus(created.body.id, FINISHED_DISTRIBUTION_STATUSES, 90_000);
    expect(done).toMatchObject({ status: 'Succeeded', progress: { total: 2, updated: 2, failed: 0 } });
    for (const agent of agents) expect(await answer(agent)).toBe(1);

    const [a] = DEVICES;
    const ofA = requests.filter((r) => r.deviceId === a);
    // Asked for the start once: after the cut it went on from where its file ended.
    expect(ofA.filter((r) => r.offset === 0)).toHaveLength(1);
    const firstAfterCut = ofA.find((r) => r.afterCut);
    expect(firstAfterCut?.offset).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    const resumed = logs.filter((l) => l.deviceId === a && l.message === 'resuming the artifact transfer');
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(resumed[0]!.fields?.['offset']).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    // Every byte came over NATS: as many chunks as the artifact has, give or take those lost in the cut.
    const chunks = Math.ceil(bytes.length / CHUNK);
    expect(new Set(ofA.map((r) => r.offset)).size).toBe(chunks);
  }, 180_000);
});

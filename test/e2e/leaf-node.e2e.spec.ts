import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FINISHED_DISTRIBUTION_STATUSES } from '@hotswap/contracts';
import type { EdgeAgent } from '@hotswap/edge-agent';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { answer } from './support/e2e-stack.js';
import { startLeafTopology, type LeafTopology } from './support/leaf-topology.js';

/**
 * Devices behind a NATS leaf node, the production topology: the control plane on a hub
 * nats-server (JetStream), the edge agents on a leaf nats-server (no JetStream) that links to the
 * hub. The leaf goes down in the middle of a rollout and comes back on the same port; the devices
 * reconnect, sync their desired model and the distribution completes.
 */
const DEVICES = ['leaf-dev-a', 'leaf-dev-b'];
let topology: LeafTopology;
let agents: EdgeAgent[] = [];

beforeAll(async () => {
  topology = await startLeafTopology('leaf-e2e');
  agents = DEVICES.map((deviceId) => topology.makeAgent(deviceId, 'leaf'));
  await Promise.all(agents.map((a) => a.start()));
  await topology.waitForDevices('leaf', DEVICES.length, 30_000, 'Online');
}, 120_000);

afterAll(async () => {
  await topology?.close();
}, 60_000);

describe('devices behind a NATS leaf node', () => {
  it('converge on a Direct distribution when the leaf goes down mid-rollout and comes back', async () => {
    const { api } = topology;
    expect((await topology.upload('leafadder', '1.0.0', makeAddModel({ addend: 1 }))).status).toBe(202);
    await topology.waitForValidated('leafadder-1.0.0');
    const created = await api('/api/v1/distributions', { method: 'POST', body: JSON.stringify({ modelId: 'leafadder-1.0.0', strategy: 'Direct', targetDevices: DEVICES }) });
    expect(created.status).toBe(202);

    // Cut the link at once: the swap commands and the devices' reports cannot cross it now.
    await topology.cutLeaf();
    const during = (await api(`/api/v1/distributions/${created.body.id}/status`)).body;
    expect(during.status).toBe('Running');
    expect(during.progress.updated).toBeLessThan(DEVICES.length);

    await topology.restoreLeaf();
    const done = await topology.waitForStatus(created.body.id, FINISHED_DISTRIBUTION_STATUSES, 60_000);
    expect(done).toMatchObject({ status: 'Succeeded', progress: { total: 2, updated: 2, failed: 0, pending: 0 } });
    for (const agent of agents) expect(await answer(agent)).toBe(1);
    const devices = (await api('/api/v1/devices?modelId=leafadder-1.0.0')).body;
    expect(devices.items.map((d: { id: string }) => d.id).sort()).toEqual(DEVICES);
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Streams, type DistributionStatusView } from '@hotswap/contracts';
import type { EdgeAgent } from '@hotswap/edge-agent';
import { JetStreamEventStore, type LocalFileArtifactStore } from '@hotswap/infrastructure';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { answer, startE2eStack, type E2eStack } from './support/e2e-stack.js';

const DEVICES = ['ver-dev-a', 'ver-dev-b'];
let stack: E2eStack;
let agents: EdgeAgent[];
let artifacts: LocalFileArtifactStore;
let events: JetStreamEventStore;
const api: E2eStack['api'] = (...args) => stack.api(...args);
const upload: E2eStack['upload'] = (...args) => stack.upload(...args);
const waitForValidated: E2eStack['waitForValidated'] = (...args) => stack.waitForValidated(...args);
const waitForStatus: E2eStack['waitForStatus'] = (...args) => stack.waitForStatus(...args);

beforeAll(async () => {
  stack = await startE2eStack('versions');
  artifacts = stack.artifacts;
  agents = DEVICES.map((id, i) => stack.makeAgent(id, i, 'e2e-versions'));
  await Promise.all(agents.map((a) => a.start()));
  events = await JetStreamEventStore.connect({ servers: stack.nats.url });
  await stack.waitForDevices('e2e-versions', 2);
}, 120_000);

afterAll(async () => {
  await events?.close();
  await stack?.close();
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

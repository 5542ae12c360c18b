import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeviceSubjects } from '@hotswap/contracts';
import type { EdgeAgent } from '@hotswap/edge-agent';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { answer, startE2eStack, type E2eStack } from './support/e2e-stack.js';

let stack: E2eStack;
let agents: EdgeAgent[];
let probe: NatsConnection;
const makeAgent = (deviceId: string, i: number) => stack.makeAgent(deviceId, i, 'e2e');
const api: E2eStack['api'] = (...args) => stack.api(...args);
const upload: E2eStack['upload'] = (...args) => stack.upload(...args);
const waitForValidated: E2eStack['waitForValidated'] = (...args) => stack.waitForValidated(...args);
const waitForStatus: E2eStack['waitForStatus'] = (...args) => stack.waitForStatus(...args);

beforeAll(async () => {
  stack = await startE2eStack('skeleton');
  agents = ['e2e-dev-a', 'e2e-dev-b'].map(makeAgent);
  await Promise.all(agents.map((a) => a.start()));
  probe = await connect({ servers: stack.nats.url });
  // Both devices are in the fleet read model once their announcements are projected.
  await stack.waitForDevices('e2e', 2);
}, 120_000);

afterAll(async () => {
  await probe?.close();
  await stack?.close();
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
    // The fleet read model follows the devices' reports a moment later.
    const deadline = Date.now() + 10_000;
    let ids: string[] = [];
    while (ids.length < 2 && Date.now() < deadline) {
      ids = (await api('/api/v1/devices?modelId=adder-1.0.0')).body.items.map((d: { id: string }) => d.id).sort();
      if (ids.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(ids).toEqual(['e2e-dev-a', 'e2e-dev-b']);
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
    const stored = await readdir(join(stack.dataDir, 'artifacts'), { recursive: true });
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

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as ort from 'onnxruntime-node';
import type { DistributionStatusView } from '@hotswap/contracts';
import type { EdgeAgent } from '@hotswap/edge-agent';
import { eventually, makeAddModel, makeSlowModel } from '@hotswap/infrastructure/testing';
import { startE2eStack, type E2eStack } from './support/e2e-stack.js';

// Each strategy end to end on four real edge agents that serve a steady inference load, with the
// real monitor watching their telemetry; durations are compressed to seconds.

const DEVICES = ['rs-1', 'rs-2', 'rs-3', 'rs-4'];
let stack: E2eStack;
let agents: EdgeAgent[];
let loadRunning = true;
let load: Promise<void>;

/** Every model here takes `x: [1, SIZE]`; the slow ones chain SIZE×SIZE MatMuls (same outputs, far more compute). */
const SIZE = 256;
const fast = (addend: number) => makeAddModel({ addend, shape: [1, SIZE] });
const slow = (addend: number, depth = 96) => makeSlowModel({ addend, size: SIZE, depth });
const input = () => new ort.Tensor('float32', new Float32Array(SIZE), [1, SIZE]);

/** What a device answers for x = 0: the addend of the model it runs. */
async function answer(agent: EdgeAgent): Promise<number> {
  return ((await agent.infer({ x: input() })).outputs['y']!.data as Float32Array)[0]!;
}

/** ~40 inferences/s per device, so the monitor has samples. */
async function serveLoad(agent: EdgeAgent): Promise<void> {
  const x = input();
  while (loadRunning) {
    await agent.infer({ x }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const api: E2eStack['api'] = (...args) => stack.api(...args);
const create = async (body: object) => {
  const reply = await api('/api/v1/distributions', { method: 'POST', body: JSON.stringify(body) });
  expect(reply).toMatchObject({ status: 202 });
  return reply.body.id as string;
};
const status = async (id: string): Promise<DistributionStatusView> => (await api(`/api/v1/distributions/${id}/status`)).body;

async function models(name: string, versions: Array<[string, Buffer]>): Promise<void> {
  for (const [version, bytes] of versions) expect((await stack.upload(name, version, bytes)).status).toBe(202);
  for (const [version] of versions) await stack.waitForValidated(`${name}-${version}`);
}

/** Puts every device on `modelId` with a plain Direct rollout. */
async function baseline(modelId: string): Promise<void> {
  const id = await create({ modelId, strategy: 'Direct', targetDevices: DEVICES });
  expect((await stack.waitForStatus(id, ['Succeeded', 'Failed', 'RolledBack'])).status).toBe('Succeeded');
}

beforeAll(async () => {
  stack = await startE2eStack('strategies', {
    // Detection on compressed time: small samples are enough for a 10x slower model.
    // +50%: on 2 shared cores the p99 of a fast model drifts with the load; the slow model is several times slower.
    monitor: { detectionIntervalMs: 300, minSamples: 100, maxLatencyIncrease: 0.5, detectionWindowMs: 10_000, baselineWindowMs: 10_000 },
  });
  agents = DEVICES.map((id, i) => stack.makeAgent(id, i, 'strategies'));
  await Promise.all(agents.map((a) => a.start()));
  await stack.waitForDevices('strategies', DEVICES.length);
  load = Promise.all(agents.map(serveLoad)).then(() => undefined);
}, 120_000);

afterAll(async () => {
  loadRunning = false;
  await load;
  await stack?.close();
}, 60_000);

describe('rollout strategies on a simulated fleet', () => {
  it('rolls back a canary of a slower model by itself, and the other devices never receive it', async () => {
    // Same outputs (x + 1), far more compute: only the latency gives it away.
    // Far slower than needed on a quiet machine: when the shared process is busy (e.g. compiling
    // the suites at the start of a run), every device's latency is mostly queueing, and a model only
    // a few times slower can stay under +50% for long.
    await models('canary', [['1.0.0', fast(1)], ['2.0.0', slow(1, 256)]]);
    await baseline('canary-1.0.0');
    const id = await create({
      modelId: 'canary-2.0.0', strategy: 'Canary', targetDevices: DEVICES, canaryPercentage: 25, canaryDuration: 'PT2M',
      rollbackPolicy: 'Automatic', execution: { healthWindow: 'PT1S', minHealthSamples: 5 },
    });
    const started = Date.now();
    const final = await stack.waitForStatus(id, ['RolledBack', 'Succeeded', 'Failed'], 60_000);
    const seconds = (Date.now() - started) / 1000;
    if (final.status !== 'RolledBack') console.log(JSON.stringify(final, null, 1));
    expect(final.status).toBe('RolledBack');
    expect(final.degradation).toMatchObject({ trigger: 'latency' });
    expect(final.degradation?.detail).toMatch(/p99 latency .* on canary is \d+% above/);
    expect(seconds).toBeLessThan(60);
    const canary = final.devices.filter((d) => d.wave === 1);
    expect(canary).toHaveLength(1);
    expect(canary[0]).toMatchObject({ state: 'RolledBack' });
    // The rest were never commanded: no attempt, no model.
    expect(final.devices.filter((d) => d.wave === 2).map((d) => [d.state, d.attempt])).toEqual([['Pending', undefined], ['Pending', undefined], ['Pending', undefined]]);
    for (const agent of agents) expect(await answer(agent)).toBe(1);
    const onV1 = (await api('/api/v1/devices?modelId=canary-1.0.0')).body;
    expect(onV1.total).toBe(4);
    const metrics = (await api(`/api/v1/distributions/${id}/metrics`)).body;
    expect(metrics.groups.map((g: { group: string }) => g.group)).toContain('canary');
  }, 120_000);

  it('picks the better model of an A/B test with its p-value and rolls it out to the other group', async () => {
    await models('ab', [['1.0.0', slow(3)], ['2.0.0', fast(3)]]);
    const id = await create({
      strategy: 'ABTesting', targetDevices: DEVICES, modelA: 'ab-1.0.0', modelB: 'ab-2.0.0', testDuration: 'PT6S',
      winnerCriteria: { metric: 'latency', minSamples: 100, rolloutWinner: true },
    });
    const final = await stack.waitForStatus(id, ['Succeeded', 'Failed', 'RolledBack'], 90_000);
    expect(final.status).toBe('Succeeded');
    expect(final.abTest).toMatchObject({ metric: 'latency', winner: 'B' });
    expect(final.abTest?.pValue).toBeLessThan(0.05);
    expect(final.waves.map((w) => w.name)).toEqual(['A', 'B', 'winner']);
    for (const agent of agents) expect(await answer(agent)).toBe(3);
    expect((await api('/api/v1/devices?modelId=ab-2.0.0')).body.total).toBe(4);
  }, 150_000);

  it('waits for an approval between progressive stages when autoProgress is false', async () => {
    await models('prog', [['1.0.0', fast(5)]]);
    const id = await create({
      modelId: 'prog-1.0.0', strategy: 'ProgressiveRollout', targetDevices: DEVICES, autoProgress: false,
      stages: [{ percentage: 50, duration: 'PT1S' }, { percentage: 100, duration: 'PT1S' }],
    });
    const waiting = await stack.waitForStatus(id, ['PendingApproval', 'Succeeded', 'Failed'], 60_000);
    expect(waiting).toMatchObject({ status: 'PendingApproval', stage: 'stage-2', progress: { updated: 2 } });
    // It stays there until someone approves.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await status(id)).status).toBe('PendingApproval');
    const approved = await api(`/api/v1/distributions/${id}/approve`, { method: 'POST', body: JSON.stringify({ reason: 'stage 1 looks fine' }) });
    expect(approved.status).toBe(200);
    const final = await stack.waitForStatus(id, ['Succeeded', 'Failed'], 60_000);
    expect(final).toMatchObject({ status: 'Succeeded', progress: { updated: 4 } });
    expect(final.history).toContainEqual(expect.objectContaining({ action: 'approved', by: 'e2e-admin' }));
  }, 120_000);

  it('runs a regional rollout region by region', async () => {
    await models('regional', [['1.0.0', fast(7)]]);
    const id = await create({
      modelId: 'regional-1.0.0', strategy: 'RegionalRollout', targetDevices: DEVICES, regions: ['us-west-1', 'eu-central-1'], delayBetweenRegions: 'PT2S',
    });
    // While the first region is observed, the second has not been commanded.
    let seenObserving: DistributionStatusView | undefined;
    const deadline = Date.now() + 30_000;
    while (seenObserving === undefined && Date.now() < deadline) {
      const view = await status(id);
      if (view.waves[0]?.status === 'Observing') seenObserving = view;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seenObserving?.waves.map((w) => [w.name, w.size])).toEqual([['us-west-1', 1], ['eu-central-1', 3]]);
    expect(seenObserving?.devices.filter((d) => d.wave === 2).every((d) => d.state === 'Pending')).toBe(true);
    const final = await stack.waitForStatus(id, ['Succeeded', 'Failed'], 60_000);
    expect(final.status).toBe('Succeeded');
    for (const agent of agents) expect(await answer(agent)).toBe(7);
  }, 120_000);

  it('refuses a second distribution for devices an active one holds, naming them', async () => {
    await models('hold', [['1.0.0', fast(9)]]);
    const first = await create({
      modelId: 'hold-1.0.0', strategy: 'Canary', targetDevices: DEVICES, canaryPercentage: 25, canaryDuration: 'PT1H',
    });
    const second = await api('/api/v1/distributions', { method: 'POST', body: JSON.stringify({ modelId: 'hold-1.0.0', strategy: 'Direct', targetDevices: ['rs-2'] }) });
    expect(second.status).toBe(409);
    expect(second.body.message).toContain(`device rs-2 already belong to the active distribution ${first}`);
    const cancelled = await api(`/api/v1/distributions/${first}/cancel`, { method: 'POST' });
    expect(cancelled.body.status).toBe('Cancelled');
    // The hold is released once the cancellation reaches the read model (milliseconds, more under load).
    const third = await eventually(
      () => api('/api/v1/distributions', { method: 'POST', body: JSON.stringify({ modelId: 'hold-1.0.0', strategy: 'Direct', targetDevices: ['rs-2'] }) }),
      (r) => r.status !== 409, 10_000, 200);
    expect(third.status).toBe(202);
    expect((await stack.waitForStatus(third.body.id, ['Succeeded', 'Failed'])).status).toBe('Succeeded');
  }, 120_000);
});

import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kvm } from '@nats-io/kv';
import {
  Commands, DISTRIBUTION_OWNERS_BUCKET, Queries, Streams, type DistributionPlanView, type DistributionStatusView, type SwapCommand,
} from '@hotswap/contracts';
import { DeviceRegistryModule } from '@hotswap/device-registry';
import type { ServiceRuntime } from '@hotswap/infrastructure';
import { ModelRegistryModule } from '@hotswap/model-registry';
import type { DistributorOptions } from '../distributor.options.js';
import { startDistributorHarness, type DeviceHealth, type DistributorHarness } from '../testing/distributor-harness.js';

// The conductor against real NATS, JetStream and the real registries: restarts, takeovers,
// health-gated waves, approvals and the dry run. Devices are played on raw NATS by the test; each
// holds its swap report until the test releases it, so a test can stop a distributor mid-rollout.

const LEASE_MS = 2_000;
let h: DistributorHarness;
const received = new Map<string, SwapCommand[]>();
/** Reports held back per device until `release`. */
const held = new Map<string, Array<() => void>>();
let holding = false;
/** Health the fake monitor reports for each device (defaults to healthy). */
const healthOf = new Map<string, DeviceHealth>();

/** Accepts every command and reports the swap, or holds the report while `holding`. */
const fakeDevice = (deviceId: string, region: string, tags: string[] = []) => h.fakeDevice(deviceId, (command, ack) => {
  received.set(deviceId, [...(received.get(deviceId) ?? []), command]);
  ack();
  const report = h.swapReport(deviceId, command);
  if (holding) held.set(deviceId, [...(held.get(deviceId) ?? []), report]);
  else report();
}, region, tags);

function release(): void {
  holding = false;
  for (const reports of held.values()) for (const send of reports.splice(0)) send();
}

const distributor = (runtime: ServiceRuntime, options: Partial<DistributorOptions>) => h.startDistributor(runtime, { ownershipLeaseMs: LEASE_MS, ...options });
const control = (id: string, verb: string) => h.t.runtime.bus.request<object, DistributionStatusView>(Commands.controlDistribution, { id, verb, actor: 'olga' }, { timeoutMs: 5_000 });

async function until<T>(what: string, read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: last seen ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const finished = (id: string) => h.finished(id, 15_000);
/** Commands of a distribution per device, in device order (devices are commanded concurrently, each on its own lane). */
const commandsOf = (id: string) => [...received.entries()].map(([device, commands]) => [device, commands.filter((c) => c.distributionId === id).length] as const)
  .filter(([, n]) => n > 0).sort(([a], [b]) => a.localeCompare(b));
const owner = async (id: string) => (await (await new Kvm(h.t.runtime.nats).open(DISTRIBUTION_OWNERS_BUCKET)).get(id))?.json<{ owner: string }>()?.owner;

beforeAll(async () => {
  h = await startDistributorHarness([ModelRegistryModule, DeviceRegistryModule]);
  h.playMonitor((deviceId) => healthOf.get(deviceId));
  for (let i = 1; i <= 6; i += 1) await fakeDevice(`c-${i}`, i <= 3 ? 'eu' : 'us', i === 6 ? ['production'] : []);
  for (const [version, addend] of [['1.0.0', 1], ['2.0.0', 2]] as const) await h.uploadAddModel('cond', version, addend);
}, 60_000);

afterAll(async () => {
  release();
  await h?.cleanup();
});

describe('conductor - durable, shared rollouts', () => {
  it('resumes a rollout where the stream says after a restart, commanding no device twice and forgetting none', async () => {
    const first = await distributor(await h.runtimeOn('first'), { instanceId: 'first' });
    holding = true;
    const { id } = await h.create({ modelId: 'cond-1.0.0', targetDevices: ['c-1', 'c-2', 'c-3', 'c-4', 'c-5'], execution: { maxInFlight: 2 } });
    await until('two devices commanded', () => commandsOf(id).length, (n) => n === 2);
    await first.close();
    const second = await distributor(await h.runtimeOn('second'), { instanceId: 'second' });
    release();
    expect((await finished(id)).status).toBe('Succeeded');
    expect(commandsOf(id)).toEqual([['c-1', 1], ['c-2', 1], ['c-3', 1], ['c-4', 1], ['c-5', 1]]);
    // A stopping owner hands its distributions over: that is no takeover.
    expect((await h.t.runtime.eventStore.readStream(Streams.distribution(id))).map((e) => e.type)).not.toContain('DistributionTakenOver');
    await second.close();
  });

  it('is taken over by another instance once its owner falls silent for the lease', async () => {
    const a = await h.runtimeOn('a');
    const b = await h.runtimeOn('b');
    await distributor(a, { instanceId: 'instance-a' });
    await distributor(b, { instanceId: 'instance-b' });
    holding = true;
    const { id } = await h.create({ modelId: 'cond-1.0.0', targetDevices: ['c-1', 'c-2', 'c-3'], execution: { maxInFlight: 1 } });
    await until('one device commanded', () => commandsOf(id).length, (n) => n === 1);
    const before = await owner(id);
    expect(['instance-a', 'instance-b']).toContain(before);
    // The owner loses NATS (a crash, as far as anyone can tell): it neither renews nor releases.
    await (before === 'instance-a' ? a : b).nats.close();
    h.t.clock.advance(LEASE_MS + 1);
    const after = await until('a new owner', () => owner(id), (o) => o !== undefined && o !== before);
    release();
    expect((await finished(id)).status).toBe('Succeeded');
    expect(commandsOf(id)).toEqual([['c-1', 1], ['c-2', 1], ['c-3', 1]]);
    expect(h.t.logs).toContainEqual(expect.objectContaining({ message: 'took over a distribution from a silent owner', fields: expect.objectContaining({ distributionId: id, from: before, to: after }) }));
    const takeovers = (await h.t.runtime.eventStore.readStream(Streams.distribution(id))).filter((e) => e.type === 'DistributionTakenOver');
    expect(takeovers.map((e) => e.data)).toEqual([{ distributionId: id, from: before, to: after, reason: 'lease expired', at: expect.any(String) }]);
    expect((await h.status(id)).history).toContainEqual(expect.objectContaining({ action: 'taken over', by: after, detail: `from ${before}: lease expired` }));
  });
});

describe('conductor - waves, gates and operators', () => {
  it('counts a device as updated only once its health window passes, and rolls back when one breaks the criteria', async () => {
    healthOf.set('c-2', { samples: 50, errors: 0, latencyP99Ms: 90 });
    // c-1..c-3 run cond-1.0.0 from the tests above: that is where a rollback returns them.
    const { id } = await h.create({
      modelId: 'cond-2.0.0', targetDevices: ['c-1', 'c-2', 'c-3'], successCriteria: { maxLatencyMs: 50 },
      execution: { healthWindow: 'PT10S', minHealthSamples: 5 },
    });
    await until('all swapped', () => h.status(id), (v) => v.devices.every((d) => d.state === 'Verifying'));
    // The window has not passed: nobody is updated yet.
    expect((await h.status(id)).progress.updated).toBe(0);
    h.t.clock.advance(10_000);
    const final = await finished(id);
    healthOf.clear();
    expect(final.status).toBe('RolledBack');
    expect(final.degradation).toMatchObject({ trigger: 'health', detail: expect.stringContaining('device c-2: health window failed: p99 latency 90 ms above maxLatencyMs 50') });
    expect(final.devices.map((d) => [d.deviceId, d.state, d.modelId])).toEqual([
      ['c-1', 'RolledBack', 'cond-1.0.0'], ['c-2', 'RolledBack', 'cond-1.0.0'], ['c-3', 'RolledBack', 'cond-1.0.0'],
    ]);
    // Each went back with a signed rollback instruction for the older artifact.
    expect(received.get('c-2')?.at(-1)).toMatchObject({ modelId: 'cond-1.0.0', rollback: { instruction: { modelId: 'cond-1.0.0' } } });
  });

  it('waits for an approval before devices tagged production, and records who approved', async () => {
    const { id } = await h.create({ modelId: 'cond-1.0.0', targetDevices: ['c-4', 'c-5', 'c-6'], strategy: 'RegionalRollout', regions: ['us'], delayBetweenRegions: 'PT0S' });
    const waiting = await until('approval requested', () => h.status(id), (v) => v.status === 'PendingApproval');
    expect(waiting.waves[0]).toMatchObject({ approval: 'protected-targets', status: 'AwaitingApproval' });
    expect(commandsOf(id)).toEqual([]);
    const approved = await control(id, 'approve');
    expect(approved.history).toContainEqual(expect.objectContaining({ action: 'approved', by: 'olga' }));
    expect((await finished(id)).status).toBe('Succeeded');
  });

  it('pauses, resumes and cancels on request, and refuses a verb the status does not allow', async () => {
    const { id } = await h.create({ modelId: 'cond-1.0.0', targetDevices: ['c-1', 'c-2'], strategy: 'Canary', canaryPercentage: 50, canaryDuration: 'PT1H' });
    expect((await control(id, 'pause')).status).toBe('Paused');
    await expect(control(id, 'approve')).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('no wave is waiting for approval') });
    expect((await control(id, 'resume')).status).toBe('Running');
    await until('canary observed', () => h.status(id), (v) => v.waves[0]?.status === 'Observing');
    expect((await control(id, 'cancel')).status).toBe('Cancelled');
    await expect(control(id, 'explode')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(control('dist-nope', 'pause')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The devices it held are free again.
    const next = await h.create({ modelId: 'cond-1.0.0', targetDevices: ['c-2'] });
    expect((await finished(next.id)).status).toBe('Succeeded');
  });

  it('runs a dozen distributions at once, each to its own devices', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `m-${i + 1}`);
    for (const id of ids) await fakeDevice(id, 'fleet-m');
    const created = await Promise.all(ids.map((deviceId) => h.create({ modelId: 'cond-1.0.0', targetDevices: [deviceId] })));
    const finals = await Promise.all(created.map(({ id }) => finished(id)));
    expect(finals.map((f) => f.status)).toEqual(Array(12).fill('Succeeded'));
    expect(new Set(created.map((c) => c.id)).size).toBe(12);
  });

  it('records every report when many devices answer at once', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `burst-${i + 1}`);
    for (const id of ids) await fakeDevice(id, 'burst');
    const { id } = await h.create({ modelId: 'cond-1.0.0', targetFilter: { region: 'burst' } });
    const final = await finished(id);
    expect(final).toMatchObject({ status: 'Succeeded', progress: { total: 40, updated: 40 } });
    expect(h.t.logs.filter((l) => l.level === 'warn' && String(l.fields?.['error'] ?? '').includes('expected version'))).toEqual([]);
  });

  it('includes a device that joins the targeted group while the distribution runs', async () => {
    await fakeDevice('late-1', 'late', ['late']);
    await fakeDevice('late-2', 'late', ['late']);
    const { id } = await h.create({ modelId: 'cond-2.0.0', targetFilter: { tags: ['late'] }, strategy: 'Canary', canaryPercentage: 1, canaryDuration: 'PT1H' });
    expect((await h.status(id)).progress.total).toBe(2);
    await fakeDevice('late-3', 'late', ['late']);
    const joined = await until('the joining device is a target', () => h.status(id), (v) => v.progress.total === 3);
    expect(joined.devices.map((d) => [d.deviceId, d.wave])).toContainEqual(['late-3', 2]);
    await until('canary observed', () => h.status(id), (v) => v.waves[0]?.status === 'Observing');
    expect((await control(id, 'promote')).history.at(-1)).toMatchObject({ action: 'promoted', by: 'olga' });
    const final = await finished(id);
    expect(final).toMatchObject({ status: 'Succeeded', progress: { total: 3, updated: 3 } });
    expect(commandsOf(id).map(([device]) => device).sort()).toEqual(['late-1', 'late-2', 'late-3']);
  });

  it('plans a dry run without recording or claiming anything', async () => {
    const before = (await h.t.runtime.eventStore.readStream(Streams.distribution('none'))).length;
    const plan = await h.t.runtime.bus.request<object, DistributionPlanView>(Queries.planDistribution, {
      actor: 'olga', modelId: 'cond-1.0.0', strategy: 'ProgressiveRollout', targetFilter: { region: 'eu' },
      stages: [{ percentage: 34, duration: 'PT1M' }, { percentage: 100, duration: 'PT1M' }],
    }, { timeoutMs: 5_000 });
    expect(plan.waves.map((w) => [w.name, w.deviceIds])).toEqual([['stage-1', ['c-1', 'c-2']], ['stage-2', ['c-3']]]);
    expect(before).toBe(0);
    const running = await h.create({ modelId: 'cond-1.0.0', targetFilter: { region: 'eu' } });
    expect((await finished(running.id)).status).toBe('Succeeded');
  });
});

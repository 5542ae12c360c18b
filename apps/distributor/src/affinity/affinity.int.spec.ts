import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Streams, type SwapCommand } from '@hotswap/contracts';
import { DeviceRegistryModule } from '@hotswap/device-registry';
import { hashRing } from '@hotswap/domain';
import { eventually } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '@hotswap/model-registry';
import { FAST_EXECUTION, startDistributorHarness, type DistributorHarness } from '../testing/distributor-harness.js';
import { DeviceDrivers } from './device-drivers.js';
import { Membership } from './membership.js';

// Device affinity across distributor instances on real NATS: which instance sends each device its
// commands, and what happens to a rollout when instances join and leave in the middle of it.
// Devices are played on raw NATS; each instance keeps the devices it sent commands to.

const LEASE_MS = 1_500;
const DEVICES = Array.from({ length: 24 }, (_, i) => `aff-${String(i + 1).padStart(2, '0')}`);
let h: DistributorHarness;
const received = new Map<string, SwapCommand[]>();
let holding = false;
const subscriptions = new Map<string, Subscription>();
const held: Array<() => void> = [];

interface Instance { readonly id: string; readonly context: INestApplicationContext; readonly nats: NatsConnection }

async function instance(id: string): Promise<Instance> {
  const runtime = await h.runtimeOn(id);
  const context = await h.startDistributor(runtime, {
    ownershipLeaseMs: LEASE_MS, instanceId: id, executionDefaults: { ...FAST_EXECUTION, deviceTimeoutMs: 60_000 },
  });
  return { id, context, nats: runtime.nats };
}

const drivenBy = (i: Instance) => i.context.get(DeviceDrivers).driven;
const commandIdsOf = (distributionId: string, deviceId: string) => new Set((received.get(deviceId) ?? []).filter((c) => c.distributionId === distributionId).map((c) => c.commandId));

async function updateRequests(distributionId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const event of await h.t.runtime.eventStore.readStream(Streams.distribution(distributionId))) {
    if (event.type === 'TargetUpdateRequested') {
      const deviceId = (event.data as { deviceId: string }).deviceId;
      counts.set(deviceId, (counts.get(deviceId) ?? 0) + 1);
    }
  }
  return counts;
}

/** The fake device `deviceId` answering its commands: acks (`duplicate` for a command id it had) and reports. */
function listen(deviceId: string): Subscription {
  return h.answerCommands(deviceId, (command, ack) => {
    const seen = (received.get(deviceId) ?? []).some((c) => c.commandId === command.commandId);
    received.set(deviceId, [...(received.get(deviceId) ?? []), command]);
    if (seen) return ack(false, 'duplicate');
    ack();
    const report = h.swapReport(deviceId, command);
    if (holding) held.push(report);
    else report();
  });
}

beforeAll(async () => {
  h = await startDistributorHarness([ModelRegistryModule, DeviceRegistryModule]);
  h.playMonitor();
  for (const deviceId of DEVICES) {
    await h.registerDevice(deviceId);
    subscriptions.set(deviceId, listen(deviceId));
  }
  for (const [version, addend] of [['1.0.0', 1], ['2.0.0', 2], ['3.0.0', 3]] as const) await h.uploadAddModel('aff', version, addend);
}, 60_000);

afterAll(async () => {
  for (const send of held.splice(0)) send();
  await h?.cleanup();
});

describe('device affinity across distributor instances', () => {
  let a: Instance;
  let b: Instance;
  let c: Instance;

  it('sends each device its commands from the one instance the hash ring names, spreading the devices between them', async () => {
    a = await instance('instance-a');
    b = await instance('instance-b');
    // b's first heartbeat saw a; a sees b at its next one.
    await eventually(() => a.context.get(Membership).ring.members.join(), (m) => m === 'instance-a,instance-b');
    expect(b.context.get(Membership).ring.members).toEqual(['instance-a', 'instance-b']);
    const { id } = await h.create({ modelId: 'aff-1.0.0', targetDevices: DEVICES });
    expect((await h.finished(id)).status).toBe('Succeeded');
    const ring = hashRing(['instance-a', 'instance-b']);
    const expected = (owner: string) => DEVICES.filter((d) => ring.ownerOf(d) === owner).sort();
    expect([...drivenBy(a)].sort()).toEqual(expected('instance-a'));
    expect([...drivenBy(b)].sort()).toEqual(expected('instance-b'));
    expect(drivenBy(a).size).toBeGreaterThan(4);
    expect(drivenBy(b).size).toBeGreaterThan(4);
    for (const deviceId of DEVICES) expect(commandIdsOf(id, deviceId).size).toBe(1);
  }, 60_000);

  it('finishes a rollout when an instance dies and another joins mid-way: no device commanded twice, none forgotten', async () => {
    holding = true;
    const { id } = await h.create({ modelId: 'aff-2.0.0', targetDevices: DEVICES, execution: { maxInFlight: 8 } });
    await eventually(() => held.length, (n) => n === 8);
    // b crashes, as far as anyone can tell: it neither renews its membership nor answers.
    await b.nats.close();
    h.t.clock.advance(LEASE_MS + 1);
    c = await instance('instance-c');
    holding = false;
    for (const send of held.splice(0)) send();
    const final = await h.finished(id);
    expect(final.status).toBe('Succeeded');
    expect(final.progress).toMatchObject({ updated: DEVICES.length });
    // One request per device in the event stream, one command id per device at the devices.
    const requests = await updateRequests(id);
    expect([...requests.values()].every((n) => n === 1)).toBe(true);
    expect(requests.size).toBe(DEVICES.length);
    for (const deviceId of DEVICES) expect(commandIdsOf(id, deviceId).size).toBe(1);
    // The survivors split the fleet by the ring over them.
    const ring = hashRing(['instance-a', 'instance-c']);
    await eventually(() => c.context.get(Membership).ring.members.join(), (m) => m === 'instance-a,instance-c', 10_000);
    expect(DEVICES.some((d) => ring.ownerOf(d) === 'instance-c' && drivenBy(c).has(d))).toBe(true);
  }, 90_000);

  it('re-sends a command its departed driver could not deliver, without waiting for the device timeout', async () => {
    const d = await instance('instance-d');
    // Every live instance must see d first: one that does not yet would drive the device itself.
    for (const i of [a, c, d]) await eventually(() => i.context.get(Membership).ring.members.join(), (m) => m === 'instance-a,instance-c,instance-d');
    const target = DEVICES.find((id) => hashRing(['instance-a', 'instance-c', 'instance-d']).ownerOf(id) === 'instance-d')!;
    // The device is away while d drives it: d's command finds nobody and stays undelivered.
    await subscriptions.get(target)!.drain();
    const { id } = await h.create({ modelId: 'aff-3.0.0', targetDevices: [target] });
    await eventually(() => d.context.get(DeviceDrivers).driven.has(target), (sent) => sent);
    await eventually(async () => (await h.status(id).catch(() => undefined))?.devices[0]?.state, (state) => state === 'Requested');
    subscriptions.set(target, listen(target));
    // d dies before the device is back; a survivor takes the device over and sends the command again.
    await d.nats.close();
    h.t.clock.advance(LEASE_MS + 1);
    const final = await h.finished(id, 15_000);
    expect(final.status).toBe('Succeeded');
    expect(commandIdsOf(id, target).size).toBe(1);
    expect((await updateRequests(id)).get(target)).toBe(1);
  }, 60_000);
});

import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decode } from '@nats-io/jwt';
import { Commands, DeviceSubjects, Queries, Streams, type DeviceRegistration, type DeviceView, type Page } from '@hotswap/contracts';
import { createNatsTrust } from '@hotswap/infrastructure';
import { startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { DeviceRegistryModule } from './device-registry.module.js';
import { OfflineDetector } from './offline-detection/offline-detector.js';

const OFFLINE_AFTER_MS = 60_000;
let t: TestRuntime;
let app: INestApplicationContext;
let device: NatsConnection;

const announcement = (deviceId: string) => ({
  deviceId, deviceType: 'edge-camera', region: 'us-west-1',
  capabilities: { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 4096 }, tags: ['lab'],
});

async function register(deviceId: string): Promise<unknown> {
  const reply = await device.request(DeviceSubjects.register(deviceId), JSON.stringify(announcement(deviceId)), { timeout: 5_000 });
  return reply.json();
}

const getDevice = (id: string) => t.runtime.bus.request<{ id: string }, DeviceView>(Queries.getDevice, { id }, { timeoutMs: 5_000 });
const eventTypes = async (id: string) => (await t.runtime.eventStore.readStream(Streams.device(id))).map((e) => e.type);

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  t = await startTestRuntime();
  app = await NestFactory.createApplicationContext(
    DeviceRegistryModule.register(t.runtime, { offlineAfterMs: OFFLINE_AFTER_MS, offlineCheckIntervalMs: 3_600_000, natsTrust: await createNatsTrust() }),
    { logger: false },
  );
  await app.init();
  device = await connect({ servers: t.nats.url });
}, 30_000);

afterAll(async () => {
  await device?.close();
  await app?.close();
  await t?.cleanup();
});

describe('device registry - registration', () => {
  it('registers an announcing device as Online and answers with a bare device-plane reply', async () => {
    expect(await register('reg-1')).toEqual({ accepted: true, deviceId: 'reg-1' });
    const view = await getDevice('reg-1');
    expect(view).toMatchObject({ id: 'reg-1', status: 'Online', region: 'us-west-1', tags: ['lab'], currentModelId: null });
    expect(view.lastHeartbeat).toBe(t.clock.now().toISOString());
    expect(await eventTypes('reg-1')).toEqual(['DeviceRegistered', 'DeviceCameOnline']);
  });

  it('refuses an announcement that speaks for another device', async () => {
    const reply = await device.request(DeviceSubjects.register('reg-2'), JSON.stringify(announcement('someone-else')), { timeout: 5_000 });
    expect(reply.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.stringContaining('speaks for device someone-else') } });
    expect(await eventTypes('someone-else')).toEqual([]);
  });

  it('refuses a malformed announcement with the reason and keeps serving', async () => {
    const reply = await device.request(DeviceSubjects.register('reg-3'), JSON.stringify({ deviceId: 'reg-3', region: 7 }), { timeout: 5_000 });
    expect(JSON.stringify(reply.json())).toMatch(/BAD_REQUEST.*region/);
    expect(await register('reg-3')).toEqual({ accepted: true, deviceId: 'reg-3' });
  });

  it('filters the fleet by region, tag and status', async () => {
    const page = await t.runtime.bus.request<object, Page<DeviceView>>(Queries.listDevices, { region: 'us-west-1', tag: 'lab', status: 'Online' }, { timeoutMs: 5_000 });
    expect(page.items.map((d) => d.id)).toEqual(expect.arrayContaining(['reg-1', 'reg-3']));
    expect((await t.runtime.bus.request<object, Page<DeviceView>>(Queries.listDevices, { region: 'eu-central-1' }, { timeoutMs: 5_000 })).total).toBe(0);
  });
});

describe('device registry - heartbeats and going offline', () => {
  it('stores heartbeats as last-seen only, never as events', async () => {
    await register('hb-1');
    const before = await eventTypes('hb-1');
    t.clock.advance(1_000);
    for (let i = 0; i < 5; i++) device.publish(DeviceSubjects.heartbeat('hb-1'), JSON.stringify({ deviceId: 'hb-1', at: t.clock.now().toISOString() }));
    await eventually(() => getDevice('hb-1'), (d) => d.lastHeartbeat === t.clock.now().toISOString());
    expect(await eventTypes('hb-1')).toEqual(before);
  });

  it('marks a device Offline once it is silent for longer than the limit, and Online again at its next heartbeat', async () => {
    await register('off-1');
    t.clock.advance(OFFLINE_AFTER_MS - 1);
    expect(await app.get(OfflineDetector).sweep()).not.toContain('off-1');
    t.clock.advance(2);
    expect(await app.get(OfflineDetector).sweep()).toContain('off-1');
    expect((await getDevice('off-1')).status).toBe('Offline');
    expect(await app.get(OfflineDetector).sweep()).not.toContain('off-1');

    device.publish(DeviceSubjects.heartbeat('off-1'), JSON.stringify({ deviceId: 'off-1', at: t.clock.now().toISOString() }));
    await eventually(() => getDevice('off-1'), (d) => d.status === 'Online');
    expect(await eventTypes('off-1')).toEqual(['DeviceRegistered', 'DeviceCameOnline', 'DeviceWentOffline', 'DeviceCameOnline']);
  });

  it('ignores a malformed heartbeat, logging why', async () => {
    device.publish(DeviceSubjects.heartbeat('hb-1'), '{"deviceId": "hb-1"');
    await eventually(async () => t.logs, (logs) => logs.some((l) => l.level === 'warn' && String(l.fields?.['reason']).includes('malformed JSON')));
  });
});

describe('device registry - swap progress', () => {
  const report = (deviceId: string, phase: string, extra: object = {}) => device.publish(DeviceSubjects.status(deviceId), JSON.stringify({
    deviceId, commandId: 'cmd-1', distributionId: 'dist-1', modelId: 'adder-2.0.0', phase, at: t.clock.now().toISOString(), ...extra,
  }));

  it('shows the device Updating while it swaps and records the model it activated with its swap time', async () => {
    await register('upd-1');
    report('upd-1', 'received');
    await eventually(() => getDevice('upd-1'), (d) => d.status === 'Updating');
    report('upd-1', 'swapped', { timings: { totalMs: 42.5 } });
    const view = await eventually(() => getDevice('upd-1'), (d) => d.currentModelId === 'adder-2.0.0');
    expect(view).toMatchObject({ status: 'Online', lastSwapMs: 42.5 });
  });

  it('keeps the current model when a swap fails', async () => {
    await register('upd-2');
    report('upd-2', 'received');
    await eventually(() => getDevice('upd-2'), (d) => d.status === 'Updating');
    report('upd-2', 'failed', { reason: 'checksum mismatch' });
    await eventually(() => eventTypes('upd-2'), (types) => types.includes('DeviceUpdateFailed'));
    expect(await getDevice('upd-2')).toMatchObject({ status: 'Online', currentModelId: null });
  });
});

describe('device registry - registration through the API', () => {
  const registerDevice = (body: object) => t.runtime.bus.request<object, DeviceRegistration>(Commands.registerDevice, {
    actor: 'admin', deviceType: 'edge-sensor', region: 'eu-central-1', capabilities: { cpuCores: 1, gpu: false, memoryMb: 256, storageMb: 512 }, ...body,
  }, { timeoutMs: 5_000 });

  it('records the device Offline until it connects, and issues credentials limited to its own subjects', async () => {
    const registration = await registerDevice({ id: 'api-1', tags: ['field'] });
    expect(registration.id).toBe('api-1');
    expect(registration.inboxPrefix).toBe('_INBOX_api-1');
    const jwt = /-----BEGIN NATS USER JWT-----\n(.+)\n/.exec(registration.token)?.[1];
    const claims = decode<{ pub: { allow: string[] }; sub: { allow: string[] } }>(jwt!);
    expect(claims.nats.pub?.allow).toEqual(['hotswap.device.api-1.>']);
    expect(claims.nats.sub?.allow).toEqual(['hotswap.device.api-1.>', '_INBOX_api-1.>']);
    expect(await getDevice('api-1')).toMatchObject({ status: 'Offline', tags: ['field'], region: 'eu-central-1' });
    expect(await eventTypes('api-1')).toEqual(['DeviceRegistered']);

    expect(await register('api-1')).toEqual({ accepted: true, deviceId: 'api-1' });
    expect((await getDevice('api-1')).status).toBe('Online');
  });

  it('generates an id when none is given', async () => {
    const registration = await registerDevice({});
    expect(registration.id).toMatch(/^dev-[0-9a-f]{12}$/);
    expect((await getDevice(registration.id)).status).toBe('Offline');
  });

  it('refuses a registration with bad fields, naming them', async () => {
    await expect(registerDevice({ id: 'bad.id', capabilities: { cpuCores: 0, gpu: 'no' } }))
      .rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/id must be letters[\s\S]*cpuCores[\s\S]*gpu/) });
  });
});

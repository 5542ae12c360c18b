import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decode } from '@nats-io/jwt';
import {
  Commands, DeviceSubjects, Queries, Streams, type CreatedReply, type CredentialsReply, type DeviceRegistration, type DeviceView, type Page,
} from '@hotswap/contracts';
import { createNatsTrust, Gauges, startMetrics, type ServiceMetrics } from '@hotswap/infrastructure';
import { startTestRuntime, type TestRuntime, eventually } from '@hotswap/infrastructure/testing';
import { DeviceRegistryModule } from './device-registry.module.js';
import { OfflineDetector } from './offline-detection/offline-detector.js';
import { DevicesReadModel } from './projections/devices/devices.read-model.js';

const OFFLINE_AFTER_MS = 60_000;
let t: TestRuntime;
let app: INestApplicationContext;
let device: NatsConnection;
let metrics: ServiceMetrics;
const CREDENTIALS_TTL_MS = 10 * 60_000;

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

beforeAll(async () => {
  t = await startTestRuntime();
  metrics = startMetrics({ serviceName: 'device-registry', processMetrics: false });
  app = await NestFactory.createApplicationContext(
    DeviceRegistryModule.register(t.runtime, {
      offlineAfterMs: OFFLINE_AFTER_MS, offlineCheckIntervalMs: 3_600_000, natsTrust: await createNatsTrust(),
      credentialsTtlMs: CREDENTIALS_TTL_MS, metrics,
    }),
    { logger: false },
  );
  await app.init();
  device = await connect({ servers: t.nats.url });
}, 30_000);

afterAll(async () => {
  await device?.close();
  await app?.close();
  await metrics?.shutdown();
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

  it('marks a whole group of silent devices Offline with one wait for the read model, not one per device', async () => {
    for (const id of ['dark-1', 'dark-2', 'dark-3']) await register(id);
    t.clock.advance(OFFLINE_AFTER_MS + 1);
    const waits = jest.spyOn(app.get(DevicesReadModel), 'waitFor');
    try {
      const silent = await app.get(OfflineDetector).sweep();
      expect(silent).toEqual(expect.arrayContaining(['dark-1', 'dark-2', 'dark-3']));
      expect(waits).toHaveBeenCalledTimes(1);
      // The one wait covers them all: the sweep returns with every one of them Offline in the read model.
      for (const id of ['dark-1', 'dark-2', 'dark-3']) expect((await getDevice(id)).status).toBe('Offline');
    } finally {
      waits.mockRestore();
    }
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

  it('records swap progress without waiting for the read model (nobody reads it back), so a burst of reports does not queue behind the projection', async () => {
    await register('upd-3');
    const waits = jest.spyOn(app.get(DevicesReadModel), 'waitFor');
    try {
      report('upd-3', 'received');
      report('upd-3', 'swapped', { timings: { totalMs: 7 } });
      await eventually(() => eventTypes('upd-3'), (types) => types.includes('DeviceModelActivated'));
      await eventually(() => getDevice('upd-3'), (d) => d.currentModelId === 'adder-2.0.0');
      expect(waits).not.toHaveBeenCalled();
    } finally {
      waits.mockRestore();
    }
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

const listDevices = (query: object) => t.runtime.bus.request<object, Page<DeviceView>>(Queries.listDevices, query, { timeoutMs: 5_000 });
const registerThroughApi = (id: string, body: object = {}) => t.runtime.bus.request<object, DeviceRegistration>(Commands.registerDevice, {
  actor: 'admin', id, deviceType: 'edge-sensor', region: 'eu-central-1', capabilities: { cpuCores: 1, gpu: false, memoryMb: 256, storageMb: 512 }, ...body,
}, { timeoutMs: 5_000 });
const updateDevice = (id: string, body: object) => t.runtime.bus.request<object, DeviceView>(Commands.updateDevice, { actor: 'operator', id, ...body }, { timeoutMs: 5_000 });
const deregister = (id: string) => t.runtime.bus.request<object, CreatedReply>(Commands.deregisterDevice, { actor: 'admin', id }, { timeoutMs: 5_000 });
const renewCredentials = async (id: string) => (await device.request(DeviceSubjects.credentials(id), JSON.stringify({ deviceId: id }), { timeout: 5_000 })).json();

describe('device registry - capability filters', () => {
  beforeAll(async () => {
    await registerThroughApi('cap-gpu-big', { tags: ['cap'], capabilities: { cpuCores: 8, gpu: true, memoryMb: 16_384, storageMb: 100_000 } });
    await registerThroughApi('cap-gpu-small', { tags: ['cap'], capabilities: { cpuCores: 2, gpu: true, memoryMb: 2_048, storageMb: 8_000 } });
    await registerThroughApi('cap-cpu', { tags: ['cap'], capabilities: { cpuCores: 4, gpu: false, memoryMb: 8_192, storageMb: 50_000, transport: 'nats' } });
  });
  const ids = async (query: object) => (await listDevices({ tag: 'cap', ...query })).items.map((d) => d.id);

  it('filters by GPU, by minimum memory, cores and storage, and combines them', async () => {
    expect(await ids({ gpu: true })).toEqual(['cap-gpu-big', 'cap-gpu-small']);
    expect(await ids({ gpu: false })).toEqual(['cap-cpu']);
    expect(await ids({ minMemoryMb: 8_192 })).toEqual(['cap-cpu', 'cap-gpu-big']);
    expect(await ids({ minCpuCores: 4, minStorageMb: 60_000 })).toEqual(['cap-gpu-big']);
    expect(await ids({ gpu: true, minMemoryMb: 4_096 })).toEqual(['cap-gpu-big']);
  });

  it('filters by artifact transport, counting a device that reports none as http', async () => {
    expect(await ids({ transport: 'nats' })).toEqual(['cap-cpu']);
    expect(await ids({ transport: 'http' })).toEqual(['cap-gpu-big', 'cap-gpu-small']);
    expect((await listDevices({ tag: 'cap', transport: 'nats' })).items[0]?.capabilities).toMatchObject({ transport: 'nats' });
  });

  it('pages a filtered list, counting every match', async () => {
    const page = await listDevices({ tag: 'cap', minMemoryMb: 1, limit: 2, offset: 1 });
    expect(page).toMatchObject({ total: 3 });
    expect(page.items.map((d) => d.id)).toEqual(['cap-gpu-big', 'cap-gpu-small']);
  });

  it('refuses a capability filter that is not a number or a boolean, naming it', async () => {
    await expect(listDevices({ minMemoryMb: -1 })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('minMemoryMb must be >= 0') });
    await expect(listDevices({ gpu: 'maybe' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('gpu must be true or false') });
    await expect(listDevices({ transport: 'carrier-pigeon' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('transport must be one of http, nats') });
  });
});

describe('device registry - updating a device', () => {
  it('replaces the attributes given, keeps the others, and answers the device as it now is', async () => {
    await registerThroughApi('put-1', { tags: ['old'] });
    const view = await updateDevice('put-1', { region: 'us-east-1', tags: ['new', 'new'], capabilities: { cpuCores: 2, gpu: true, memoryMb: 512, storageMb: 1024 } });
    expect(view).toMatchObject({ id: 'put-1', region: 'us-east-1', deviceType: 'edge-sensor', tags: ['new'], capabilities: { gpu: true, cpuCores: 2 }, status: 'Offline' });
    expect(await getDevice('put-1')).toEqual(view);
    expect(await eventTypes('put-1')).toEqual(['DeviceRegistered', 'DeviceRegistered']);
  });

  it('records nothing when nothing changes', async () => {
    await registerThroughApi('put-2');
    await updateDevice('put-2', { region: 'eu-central-1' });
    expect(await eventTypes('put-2')).toEqual(['DeviceRegistered']);
  });

  it('refuses an empty update, bad fields and an unknown device, with the reason', async () => {
    await registerThroughApi('put-3');
    await expect(updateDevice('put-3', {})).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'give at least one of deviceType, region, capabilities, tags' });
    await expect(updateDevice('put-3', { capabilities: { cpuCores: 0, gpu: true, memoryMb: 1, storageMb: 1 } }))
      .rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('capabilities.cpuCores') });
    await expect(updateDevice('put-3', { colour: 'red' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('colour') });
    await expect(updateDevice('nobody', { region: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'device nobody is not registered' });
    expect(await eventTypes('put-3')).toEqual(['DeviceRegistered']);
  });
});

describe('device registry - credentials and deregistration', () => {
  it('issues expiring credentials and renews them for a registered device over its own subject', async () => {
    const registration = await registerThroughApi('cred-1');
    expect(registration.expiresAt).toBe(new Date(t.clock.now().getTime() + CREDENTIALS_TTL_MS).toISOString());
    t.clock.advance(60_000);
    const renewed = await renewCredentials('cred-1') as CredentialsReply;
    expect(renewed.expiresAt).toBe(new Date(t.clock.now().getTime() + CREDENTIALS_TTL_MS).toISOString());
    expect(renewed.inboxPrefix).toBe('_INBOX_cred-1');
    const jwt = /-----BEGIN NATS USER JWT-----\n(.+)\n/.exec(renewed.token)?.[1];
    const claims = decode<{ pub: { allow: string[] } }>(jwt!);
    expect(claims.exp).toBe(Math.floor(new Date(renewed.expiresAt).getTime() / 1000));
    expect(claims.nats.pub?.allow).toEqual(['hotswap.device.cred-1.>']);
  });

  it('refuses to renew credentials for an unknown device or another device', async () => {
    expect(await renewCredentials('cred-nobody')).toEqual({ error: { code: 'NOT_FOUND', message: 'device cred-nobody is not registered; its credentials are not renewed' } });
    const reply = await device.request(DeviceSubjects.credentials('cred-1'), JSON.stringify({ deviceId: 'cred-other' }), { timeout: 5_000 });
    expect(reply.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.stringContaining('speaks for device cred-other') } });
  });

  it('deregisters a device: out of the fleet, its messages refused with the reason, its credentials no longer renewed', async () => {
    expect(await register('del-1')).toEqual({ accepted: true, deviceId: 'del-1' });
    expect(await deregister('del-1')).toEqual({ id: 'del-1', status: 'Deregistered' });
    const at = t.clock.now().toISOString();
    expect(await eventTypes('del-1')).toEqual(['DeviceRegistered', 'DeviceCameOnline', 'DeviceDeregistered']);
    await expect(getDevice('del-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await listDevices({ limit: 500 })).items.map((d) => d.id)).not.toContain('del-1');

    expect(await register('del-1')).toEqual({ error: { code: 'CONFLICT', message: `device del-1 was deregistered at ${at}; register it again through POST /api/v1/devices` } });
    expect(await renewCredentials('del-1')).toEqual({ error: { code: 'NOT_FOUND', message: `device del-1 was deregistered at ${at}; its credentials are not renewed` } });

    device.publish(DeviceSubjects.heartbeat('del-1'), JSON.stringify({ deviceId: 'del-1', at }));
    device.publish(DeviceSubjects.status('del-1'), JSON.stringify({ deviceId: 'del-1', commandId: 'c', distributionId: 'd', modelId: 'm', phase: 'received', at }));
    const refused = (logs: typeof t.logs) => logs.filter((l) => l.message === 'refused device message' && String(l.fields?.['reason']) === `device del-1 was deregistered at ${at}`);
    await eventually(async () => t.logs, (logs) => refused(logs).length === 2);
    expect(refused(t.logs).map((l) => l.fields?.['subject']).sort()).toEqual([DeviceSubjects.heartbeat('del-1'), DeviceSubjects.status('del-1')]);
    expect(await eventTypes('del-1')).toEqual(['DeviceRegistered', 'DeviceCameOnline', 'DeviceDeregistered']);
  });

  it('refuses to deregister an unknown device or one already deregistered', async () => {
    await expect(deregister('del-nobody')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'device del-nobody is not registered' });
    await registerThroughApi('del-2');
    await deregister('del-2');
    await expect(deregister('del-2')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('device del-2 was deregistered at') });
  });

  it('takes a deregistered device back when it is registered again through the API', async () => {
    await registerThroughApi('del-3');
    await deregister('del-3');
    await registerThroughApi('del-3', { region: 'us-west-1' });
    expect(await getDevice('del-3')).toMatchObject({ status: 'Offline', region: 'us-west-1', currentModelId: null });
    expect(await register('del-3')).toEqual({ accepted: true, deviceId: 'del-3' });
    expect((await renewCredentials('del-3') as CredentialsReply).inboxPrefix).toBe('_INBOX_del-3');
  });
});

describe('device registry - fleet gauges', () => {
  const gauge = async (name: string) => {
    const text = await metrics.prometheusText();
    const line = text.split('\n').find((l) => l.startsWith(`${name.replace(/\./g, '_')} `));
    return Number(line?.split(' ')[1]);
  };
  const counts = async () => ({ online: await gauge(Gauges.devicesOnline), offline: await gauge(Gauges.devicesOffline) });

  it('counts online and offline devices, following each transition', async () => {
    const start = await counts();
    await registerThroughApi('gauge-1');
    expect(await counts()).toEqual({ online: start.online, offline: start.offline + 1 });
    await register('gauge-1');
    expect(await counts()).toEqual({ online: start.online + 1, offline: start.offline });
    t.clock.advance(OFFLINE_AFTER_MS + 1);
    const silent = await app.get(OfflineDetector).sweep();
    expect(silent).toContain('gauge-1');
    expect(await counts()).toEqual({ online: start.online + 1 - silent.length, offline: start.offline + silent.length });
    await deregister('gauge-1');
    expect(await counts()).toEqual({ online: start.online + 1 - silent.length, offline: start.offline + silent.length - 1 });
  });
});

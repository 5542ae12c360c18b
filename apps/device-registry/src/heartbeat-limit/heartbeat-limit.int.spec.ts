import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeviceSubjects, Queries, type DeviceView } from '@hotswap/contracts';
import { startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { DeviceRegistryModule } from '../device-registry.module.js';
import { OfflineDetector } from '../offline-detection/offline-detector.js';
import { heartbeatLimitFromEnv, resolveHeartbeatLimit, type HeartbeatLimitOptions } from './heartbeat-limit.options.js';
import { HeartbeatLimiter } from './heartbeat-limiter.js';

/** The fleet-wide heartbeat limit on real NATS (KV) and PGlite. */
const OFFLINE_AFTER_MS = 5 * 60_000;
let t: TestRuntime;
let app: INestApplicationContext;
let device: NatsConnection;

const limiter = (options: Partial<HeartbeatLimitOptions>) =>
  new HeartbeatLimiter(t.runtime, { perMinute: 10, blockSize: 3, seenFlushIntervalMs: 3_600_000, ...options });
const getDevice = (id: string) => t.runtime.bus.request<{ id: string }, DeviceView>(Queries.getDevice, { id }, { timeoutMs: 5_000 });
const heartbeat = (id: string) => device.publish(DeviceSubjects.heartbeat(id), JSON.stringify({ deviceId: id, at: t.clock.now().toISOString() }));
const register = (id: string) => device.request(DeviceSubjects.register(id), JSON.stringify({
  deviceId: id, deviceType: 'edge-sensor', region: 'eu-central-1', capabilities: { cpuCores: 1, gpu: false, memoryMb: 256, storageMb: 512 },
}), { timeout: 5_000 });

async function eventually<T>(read: () => Promise<T> | T, accept: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  t = await startTestRuntime();
  app = await NestFactory.createApplicationContext(DeviceRegistryModule.register(t.runtime, {
    offlineAfterMs: OFFLINE_AFTER_MS, offlineCheckIntervalMs: 3_600_000,
    heartbeatLimit: { perMinute: 2, blockSize: 1, seenFlushIntervalMs: 50 },
  }), { logger: false });
  await app.init();
  device = await connect({ servers: t.nats.url });
}, 30_000);

afterAll(async () => {
  await device?.close();
  await app?.close();
  await t?.cleanup();
});

describe('heartbeat limit - shared counter', () => {
  it('admits exactly the limit across two replicas per minute, reserving tokens in blocks, then drops with a logged reason', async () => {
    // Another minute than the module's own limiter uses, so the two do not share a window.
    t.clock.advance(10 * 60_000);
    const [a, b] = [limiter({}), limiter({})];
    await a.onModuleInit();
    await b.onModuleInit();
    let admitted = 0;
    for (let i = 0; i < 10; i++) {
      if (await a.admit(`a-${i}`)) admitted += 1;
      if (await b.admit(`b-${i}`)) admitted += 1;
    }
    expect(admitted).toBe(10);
    expect(a.dropped + b.dropped).toBe(10);
    // Ten heartbeats took four KV updates (3 + 3 + 3 + 1), not ten.
    expect(a.reservations + b.reservations).toBe(4);
    expect(t.logs).toContainEqual(expect.objectContaining({
      level: 'warn', message: 'dropping device heartbeats', fields: expect.objectContaining({ reason: 'fleet heartbeat limit of 10/min reached' }),
    }));

    t.clock.advance(60_000);
    expect(await a.admit('a-next')).toBe(true);
    expect(t.logs).toContainEqual(expect.objectContaining({ message: 'dropped device heartbeats', fields: expect.objectContaining({ dropped: a.dropped }) }));
    await a.onModuleDestroy();
    await b.onModuleDestroy();
  });

  it('admits heartbeats, with a warning, when the shared counter cannot be reached', async () => {
    const nc = await connect({ servers: t.nats.url });
    const cut = new HeartbeatLimiter({ ...t.runtime, nats: nc }, { perMinute: 10, blockSize: 3, seenFlushIntervalMs: 3_600_000 });
    await cut.onModuleInit();
    await nc.close();
    t.clock.advance(10 * 60_000);
    for (let i = 0; i < 5; i++) expect(await cut.admit('cut-off')).toBe(true);
    expect(cut.dropped).toBe(0);
    expect(t.logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'heartbeat limit counter unavailable; admitting heartbeats' }));
    await cut.onModuleDestroy();
  });

  it('admits everything when the limit is 0, without touching KV', async () => {
    const off = limiter({ perMinute: 0 });
    await off.onModuleInit();
    for (let i = 0; i < 20; i++) expect(await off.admit('x')).toBe(true);
    expect(off.reservations).toBe(0);
    await off.onModuleDestroy();
  });

  it('reads its configuration from the environment, 1000 per minute by default', () => {
    expect(heartbeatLimitFromEnv({})).toEqual({ perMinute: 1000, blockSize: 50 });
    expect(heartbeatLimitFromEnv({ HOTSWAP_HEARTBEAT_SEEN_FLUSH_INTERVAL: 'PT10S' }).seenFlushIntervalMs).toBe(10_000);
    expect(resolveHeartbeatLimit(heartbeatLimitFromEnv({}), OFFLINE_AFTER_MS)).toEqual({ perMinute: 1000, blockSize: 50, seenFlushIntervalMs: 30_000 });
    // Compressed offline detection (tests, demos): dropped devices are marked seen four times per limit.
    expect(resolveHeartbeatLimit({}, 2_000).seenFlushIntervalMs).toBe(500);
    expect(heartbeatLimitFromEnv({ HOTSWAP_HEARTBEAT_LIMIT_PER_MINUTE: '0' }).perMinute).toBe(0);
    expect(() => heartbeatLimitFromEnv({ HOTSWAP_HEARTBEAT_LIMIT_PER_MINUTE: '-1' })).toThrow('HOTSWAP_HEARTBEAT_LIMIT_PER_MINUTE: must be at least 0');
    expect(() => DeviceRegistryModule.register(t.runtime, { heartbeatLimit: { blockSize: 0 } })).toThrow('heartbeatLimit.blockSize must be an integer >= 1, got 0');
  });
});

describe('heartbeat limit - offline detection', () => {
  it('does not mark Offline a device whose heartbeats were dropped, but still marks a silent one', async () => {
    t.clock.advance(10 * 60_000);
    for (const id of ['hb-busy', 'hb-limited', 'hb-silent']) await register(id);
    const registeredAt = t.clock.now().getTime();
    t.clock.advance(60_000);
    const limited = app.get(HeartbeatLimiter);
    const droppedBefore = limited.dropped;
    // hb-busy takes the minute's two tokens; hb-limited's heartbeat is dropped.
    heartbeat('hb-busy');
    heartbeat('hb-busy');
    await eventually(() => getDevice('hb-busy'), (d) => d.lastHeartbeat === t.clock.now().toISOString());
    heartbeat('hb-limited');
    await eventually(() => limited.dropped, (n) => n === droppedBefore + 1);
    // Dropped, yet marked seen by the next flush.
    await eventually(() => getDevice('hb-limited'), (d) => d.lastHeartbeat === t.clock.now().toISOString());

    t.clock.advance(OFFLINE_AFTER_MS - 30_000);
    expect(t.clock.now().getTime() - registeredAt).toBeGreaterThan(OFFLINE_AFTER_MS);
    expect(await app.get(OfflineDetector).sweep()).toEqual(['hb-silent']);
    expect((await getDevice('hb-limited')).status).toBe('Online');
  });
});

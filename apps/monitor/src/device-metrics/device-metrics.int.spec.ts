import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeviceSubjects, Queries, type DeviceMetricsView } from '@hotswap/contracts';
import { startTestRuntime, type TestRuntime, eventually } from '@hotswap/infrastructure/testing';
import { MonitorModule } from '../monitor.module.js';

const KEPT = 3;
let t: TestRuntime;
let app: INestApplicationContext;
let device: NatsConnection;

const windowAt = (deviceId: string, modelId: string, second: number, extra: object = {}) => ({
  deviceId, modelId,
  windowStart: new Date(Date.UTC(2026, 0, 1, 0, 0, second - 5)).toISOString(),
  windowEnd: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(),
  count: 100 + second, errors: 1, latencyMs: { p50: 1, p95: 2, p99: 3 }, ...extra,
});
const metricsOf = (id: string) => t.runtime.bus.request<{ id: string }, DeviceMetricsView>(Queries.getDeviceMetrics, { id }, { timeoutMs: 5_000 });

beforeAll(async () => {
  t = await startTestRuntime();
  app = await NestFactory.createApplicationContext(MonitorModule.register(t.runtime, { windowsPerModel: KEPT }), { logger: false });
  await app.init();
  device = await connect({ servers: t.nats.url });
}, 30_000);

afterAll(async () => {
  await device?.close();
  await app?.close();
  await t?.cleanup();
});

describe('monitor - device metrics', () => {
  it('serves the latest windows per model version, newest first, the model heard from last first', async () => {
    for (const second of [5, 10, 15, 20, 25]) device.publish(DeviceSubjects.telemetry('m-1'), JSON.stringify(windowAt('m-1', 'adder-1.0.0', second)));
    const histogram = { boundsMs: [1, 2], counts: [3, 4, 5] };
    device.publish(DeviceSubjects.telemetry('m-1'), JSON.stringify(windowAt('m-1', 'adder-2.0.0', 30, { accuracy: 0.75, labelled: 8, histogram })));
    const view = await eventually(() => metricsOf('m-1'), // Windows are stored concurrently, so the newest may land before older ones: wait for the settled set.
      (v) => v.models.length === 2 && v.models[1]!.windows.map((w) => w.count).join() === '125,120,115');
    expect(view.deviceId).toBe('m-1');
    expect(view.models.map((m) => m.modelId)).toEqual(['adder-2.0.0', 'adder-1.0.0']);
    expect(view.models[1]!.windows.map((w) => w.count)).toEqual([125, 120, 115]);
    expect(view.models[0]!.windows).toEqual([{
      windowStart: '2026-01-01T00:00:25.000Z', windowEnd: '2026-01-01T00:00:30.000Z', count: 130, errors: 1,
      latencyMs: { p50: 1, p95: 2, p99: 3 }, accuracy: 0.75, labelled: 8, histogram,
    }]);
  });

  it('stores a window delivered twice once', async () => {
    for (let i = 0; i < 2; i++) device.publish(DeviceSubjects.telemetry('m-2'), JSON.stringify(windowAt('m-2', 'adder-1.0.0', 5)));
    device.publish(DeviceSubjects.telemetry('m-2'), JSON.stringify(windowAt('m-2', 'adder-1.0.0', 10)));
    // Stored concurrently: wait until both distinct windows have landed, then a duplicate would show as a third.
    const view = await eventually(() => metricsOf('m-2'), (v) => {
      const counts = v.models[0]?.windows.map((w) => w.count) ?? [];
      return counts.includes(110) && counts.includes(105);
    });
    expect(view.models[0]!.windows.map((w) => w.count)).toEqual([110, 105]);
  });

  it('answers no models for a device never heard from', async () => {
    expect(await metricsOf('m-silent')).toEqual({ deviceId: 'm-silent', models: [] });
  });

  it('refuses telemetry that speaks for another device, or is malformed, with the reason', async () => {
    device.publish(DeviceSubjects.telemetry('m-3'), JSON.stringify(windowAt('m-other', 'adder-1.0.0', 5)));
    device.publish(DeviceSubjects.telemetry('m-3'), JSON.stringify({ ...windowAt('m-3', 'adder-1.0.0', 5), count: -1 }));
    await eventually(async () => t.logs, (logs) =>
      logs.some((l) => String(l.fields?.['reason']).includes('speaks for device m-other'))
      && logs.some((l) => l.message === 'refused message' && String(l.fields?.['reason']).includes('count')));
    expect(await metricsOf('m-other')).toEqual({ deviceId: 'm-other', models: [] });
    expect(await metricsOf('m-3')).toEqual({ deviceId: 'm-3', models: [] });
  });

  it('refuses a query without a device id', async () => {
    await expect(t.runtime.bus.request(Queries.getDeviceMetrics, {}, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('refuses to keep fewer than one window', () => {
    expect(() => MonitorModule.register(t.runtime, { windowsPerModel: 0 })).toThrow('windowsPerModel must be a positive integer, got 0');
  });
});

import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  Commands, DeviceSubjects, LATENCY_HISTOGRAM_BOUNDS_MS, Queries,
  type AbTestResultView, type DeviceMetricsView, type DistributionMetricsView, type ReportDegradationCommand, type TargetHealthView,
} from '@hotswap/contracts';
import { PgDatabase, RemoteError, type ServiceRuntime } from '@hotswap/infrastructure';
import { startTestRuntime, type TestRuntime, eventually } from '@hotswap/infrastructure/testing';
import { MonitorModule } from '../monitor.module.js';

/**
 * The monitor on real NATS (JetStream event store) and a PostgreSQL schema of its own: distribution
 * events in, device telemetry in, queries, degradation reports and webhook alerts out.
 */
const POSTGRES_URL = process.env['HOTSWAP_TEST_POSTGRES_URL'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const OLD = 'adder-1.0.0';
const NEW = 'adder-2.0.0';
const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000).toISOString();

let t: TestRuntime;
let db: PgDatabase;
let runtime: ServiceRuntime;
let app: INestApplicationContext;
let device: NatsConnection;
let webhook: Server;
const schema = `itest_monitor_${randomBytes(4).toString('hex')}`;
const reports: ReportDegradationCommand[] = [];
const alerts: Array<Record<string, unknown>> = [];
let webhookCalls = 0;

/** A 5-second window ending `end` seconds from now, every inference in the histogram bucket of `p99`. */
function publishWindow(deviceId: string, modelId: string, end: number, count: number, p99: number, extra: Record<string, unknown> = {}) {
  const counts = new Array<number>(LATENCY_HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
  const bucket = LATENCY_HISTOGRAM_BOUNDS_MS.findIndex((b) => p99 <= b);
  counts[bucket === -1 ? counts.length - 1 : bucket] = count;
  device.publish(DeviceSubjects.telemetry(deviceId), JSON.stringify({
    deviceId, modelId, windowStart: iso(end - 5), windowEnd: iso(end), count, errors: 0,
    latencyMs: { p50: p99 * 0.8, p95: p99 * 0.95, p99 }, histogram: { boundsMs: [...LATENCY_HISTOGRAM_BOUNDS_MS], counts }, ...extra,
  }));
}

const append = (id: string, events: Array<[type: string, data: Record<string, unknown>]>) =>
  t.runtime.eventStore.append(`distribution-${id}`, events.map(([type, data]) => ({
    type, data: { distributionId: id, ...data }, metadata: { schemaVersion: 2, actor: 'olga', occurredAt: iso(-60) },
  })), 'any');

/** A Canary of two canary devices (swapped 30 s ago) and three control devices still on the old model. */
async function canary(id: string, prefix: string): Promise<void> {
  const targets = [`${prefix}-c1`, `${prefix}-c2`, `${prefix}-r1`, `${prefix}-r2`, `${prefix}-r3`];
  await append(id, [
    ['DistributionCreated', {
      modelId: NEW, strategy: 'Canary', targets, rollbackPolicy: 'Automatic', successCriteria: {}, excluded: [], createdAt: iso(-60),
      waves: [{ name: 'canary', group: 'canary', modelId: NEW, size: 2, observeMs: 60_000 }, { name: 'rest', group: 'control', modelId: NEW, size: 3, observeMs: 0 }],
      snapshot: { modelIds: [OLD], regions: ['us-west-1'], model: [0, 0, 0, 0, 0], region: [0, 0, 0, 0, 0] },
    }],
    ['DistributionStarted', { at: iso(-60) }],
    ...targets.slice(0, 2).flatMap((deviceId): Array<[string, Record<string, unknown>]> => [
      ['TargetUpdateRequested', { deviceId, commandId: `cmd-${deviceId}`, wave: 1, modelId: NEW, attempt: 1, fromModelId: OLD, at: iso(-40) }],
      ['TargetSwapped', { deviceId, commandId: `cmd-${deviceId}`, swapMs: 90, at: iso(-30) }],
    ]),
  ]);
}

async function publishCanaryTelemetry(prefix: string, canaryP99: number): Promise<void> {
  for (const r of ['r1', 'r2', 'r3']) publishWindow(`${prefix}-${r}`, OLD, -5, 150, 20);
  for (const c of ['c1', 'c2']) {
    publishWindow(`${prefix}-${c}`, NEW, -10, 160, canaryP99);
    publishWindow(`${prefix}-${c}`, NEW, -5, 160, canaryP99);
  }
  await eventually(() => request<DeviceMetricsView>(Queries.getDeviceMetrics, { id: `${prefix}-c2` }), (v) => v.models[0]?.windows.length === 2);
  await eventually(() => request<DeviceMetricsView>(Queries.getDeviceMetrics, { id: `${prefix}-r3` }), (v) => v.models.length === 1);
}

const request = <T>(subject: string, payload: unknown) => runtime.bus.request<unknown, T>(subject, payload, { timeoutMs: 5_000 });

beforeAll(async () => {
  t = await startTestRuntime();
  t.clock.advance(NOW - t.clock.now().getTime());
  db = await PgDatabase.connect({ connectionString: POSTGRES_URL, schema, maxConnections: 4 });
  runtime = { ...t.runtime, db };
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      webhookCalls += 1;
      // The first two deliveries fail: the alert must be retried.
      if (webhookCalls <= 2) { res.writeHead(503).end(); return; }
      alerts.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  await runtime.bus.handle(Commands.reportDegradation, {
    validate: (payload) => ({ ok: true, value: payload as ReportDegradationCommand }),
    handler: (command) => {
      reports.push(command);
      if (command.distributionId === 'd-refused') throw Object.assign(new Error('distribution d-refused has finished'), { code: 'CONFLICT' });
      return { accepted: true };
    },
  });
  app = await NestFactory.createApplicationContext(MonitorModule.register(runtime, {
    detectionIntervalMs: 50, alertPollIntervalMs: 25, alertRetryBaseMs: 1_000,
    alertWebhookUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`,
  }), { logger: false });
  await app.init();
  device = await connect({ servers: t.nats.url });
}, 30_000);

afterAll(async () => {
  await device?.close();
  await app?.close();
  await new Promise((resolve) => webhook?.close(resolve));
  await db?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await db?.close();
  await t?.cleanup();
});

describe('monitor - degradation detection', () => {
  it('reports a canary whose p99 latency is 56% above the control group exactly once, and a healthy one never', async () => {
    await publishCanaryTelemetry('slow', 31.2);
    await publishCanaryTelemetry('fine', 21);
    await canary('d-slow', 'slow');
    await canary('d-fine', 'fine');
    await eventually(async () => reports, (r) => r.length >= 1);
    // Several more rounds run: still one report, and none for the healthy canary.
    await new Promise((r) => setTimeout(r, 600));
    expect(reports).toEqual([{
      actor: 'monitor', distributionId: 'd-slow', trigger: 'latency', group: 'canary', modelId: NEW,
      baseline: 20, observed: 31.2, threshold: 24, samples: 640,
      detail: "p99 latency 31.2 ms on canary is 56% above the control group's 20.0 ms (threshold +20%, 640 samples, p<0.001)",
    }]);
  });

  it('reports a Direct rollout whose error rate exceeds its own maxErrorRate, next to the same devices before the swap', async () => {
    publishWindow('dir-1', OLD, -40, 300, 5, { errors: 3 });
    publishWindow('dir-1', NEW, -5, 250, 5, { errors: 10 });
    await eventually(() => request<DeviceMetricsView>(Queries.getDeviceMetrics, { id: 'dir-1' }), (v) => v.models.length === 2);
    await append('d-direct', [
      ['DistributionCreated', {
        modelId: NEW, strategy: 'Direct', targets: ['dir-1'], rollbackPolicy: 'Freeze', successCriteria: { maxErrorRate: 0.02 }, excluded: [], createdAt: iso(-60),
        waves: [{ name: 'all', group: 'all', modelId: NEW, size: 1, observeMs: 0 }],
      }],
      ['DistributionStarted', { at: iso(-60) }],
      ['TargetUpdateRequested', { deviceId: 'dir-1', commandId: 'c-1', wave: 1, modelId: NEW, attempt: 1, fromModelId: OLD, at: iso(-31) }],
      ['TargetSwapped', { deviceId: 'dir-1', commandId: 'c-1', swapMs: 90, at: iso(-30) }],
    ]);
    const report = await eventually(async () => reports.find((r) => r.distributionId === 'd-direct'), (r) => r !== undefined);
    expect(report).toMatchObject({
      trigger: 'errorRate', group: 'all', observed: 0.04, threshold: 0.02, baseline: 0.01, samples: 250,
      detail: `error rate 4.0% on all is above the 2.0% limit (250 samples; 1.0% on ${OLD} before the swap)`,
    });
  });

  it('does not repeat a report the distributor refused', async () => {
    publishWindow('ref-1', NEW, -5, 250, 5, { errors: 50 });
    await eventually(() => request<DeviceMetricsView>(Queries.getDeviceMetrics, { id: 'ref-1' }), (v) => v.models.length === 1);
    await append('d-refused', [
      ['DistributionCreated', {
        modelId: NEW, strategy: 'Direct', targets: ['ref-1'], rollbackPolicy: 'Manual', successCriteria: {}, excluded: [], createdAt: iso(-60),
        waves: [{ name: 'all', group: 'all', modelId: NEW, size: 1, observeMs: 0 }],
      }],
      ['DistributionStarted', { at: iso(-60) }],
      ['TargetSwapped', { deviceId: 'ref-1', commandId: 'c-1', swapMs: 90, at: iso(-30) }],
    ]);
    await eventually(async () => t.logs, (logs) => logs.some((l) => l.message === 'degradation report refused' && l.fields?.['code'] === 'CONFLICT'));
    await new Promise((r) => setTimeout(r, 300));
    expect(reports.filter((r) => r.distributionId === 'd-refused')).toHaveLength(1);
  });

  it('serves the metrics per group and model, with the baseline and a time series', async () => {
    const view = await request<DistributionMetricsView>(Queries.getDistributionMetrics, { id: 'd-slow' });
    expect(view.distributionId).toBe('d-slow');
    expect(view.groups.map((g) => [g.group, g.modelId, g.devices, g.samples, g.errorRate, g.latencyMs?.p99])).toEqual([
      ['canary', NEW, 2, 640, 0, 31.2], ['control', OLD, 3, 450, 0, 20],
    ]);
    expect(view.groups[0]!.throughputPerSec).toBe(64);
    expect(view.baseline).toMatchObject([{ group: 'control', modelId: OLD, devices: 3, samples: 450 }]);
    expect(view.series.map((p) => [p.at, p.group, p.modelId, p.samples])).toEqual([
      [iso(-15), 'canary', NEW, 320], [iso(-10), 'canary', NEW, 320], [iso(-10), 'control', OLD, 450],
    ]);
    expect(view.degradation).toBeUndefined();
  });

  it('records a DegradationDetected and POSTs the alert, retrying with backoff after failures', async () => {
    await append('d-slow', [['DegradationDetected', {
      trigger: 'latency', detail: 'p99 latency 31.2 ms on canary is 56% above…', by: 'monitor', group: 'canary', modelId: NEW,
      baseline: 20, observed: 31.2, threshold: 24, samples: 640, at: iso(0),
    }]]);
    // The test clock moves 1 s per poll, so the 1 s and 2 s backoffs elapse.
    await eventually(async () => { t.clock.advance(1_000); return alerts; }, (a) => a.length === 1);
    expect(webhookCalls).toBe(3);
    expect(alerts[0]).toMatchObject({
      type: 'DegradationDetected', distributionId: 'd-slow', trigger: 'latency', group: 'canary', observed: 31.2, rollbackPolicy: 'Automatic', strategy: 'Canary',
    });
    expect(t.logs.filter((l) => l.message === 'alert failed, will retry').map((l) => l.fields?.['attempt'])).toEqual([1, 2]);
    const view = await eventually(() => request<DistributionMetricsView>(Queries.getDistributionMetrics, { id: 'd-slow' }), (v) => v.degradation !== undefined);
    expect(view.degradation).toMatchObject({ trigger: 'latency' });
  });
});

describe('monitor - target health and A/B tests', () => {
  it('sums each device\'s windows on a model that started at or after its swap', async () => {
    const health = await request<TargetHealthView>(Queries.getTargetHealth, { targets: [
      { deviceId: 'slow-c1', modelId: NEW, since: iso(-15) }, { deviceId: 'slow-c1', modelId: NEW, since: iso(-12) },
      { deviceId: 'slow-c1', modelId: OLD, since: iso(-60) },
    ] });
    expect(health.items).toEqual([
      { deviceId: 'slow-c1', samples: 320, errors: 0, latencyP99Ms: 31.2, accuracy: null, labelled: 0 },
      { deviceId: 'slow-c1', samples: 160, errors: 0, latencyP99Ms: 31.2, accuracy: null, labelled: 0 },
      { deviceId: 'slow-c1', samples: 0, errors: 0, latencyP99Ms: null, accuracy: null, labelled: 0 },
    ]);
  });

  it('names the more accurate group of an A/B test with its p-value', async () => {
    publishWindow('ab-a1', 'm-a', -5, 1200, 10, { accuracy: 0.9, labelled: 1000 });
    publishWindow('ab-b1', 'm-b', -5, 1200, 10, { accuracy: 0.85, labelled: 1000 });
    await append('d-ab', [
      ['DistributionCreated', {
        modelId: 'm-b', strategy: 'ABTesting', targets: ['ab-a1', 'ab-b1'], rollbackPolicy: 'Manual', successCriteria: {}, excluded: [], createdAt: iso(-60),
        waves: [{ name: 'A', group: 'A', modelId: 'm-a', size: 1, observeMs: 0 }, { name: 'B', group: 'B', modelId: 'm-b', size: 1, observeMs: 60_000 }],
        abTest: { modelA: 'm-a', modelB: 'm-b', metric: 'accuracy', minSamples: 1000, significanceLevel: 0.05, rolloutWinner: false, testDurationMs: 60_000 },
      }],
      ['DistributionStarted', { at: iso(-60) }],
      ['TargetSwapped', { deviceId: 'ab-b1', commandId: 'c', swapMs: 1, at: iso(-30) }],
    ]);
    const result = await eventually(() => request<AbTestResultView>(Queries.getAbTestResult, { id: 'd-ab' }).catch(() => null), (r) => r?.samplesB === 1200);
    expect(result).toMatchObject({ metric: 'accuracy', winner: 'A', samplesA: 1200, samplesB: 1200, valueA: 0.9, valueB: 0.85 });
    expect(result!.pValue).toBeCloseTo(0.0007232327164301844, 8);
  });

  it.each([
    [Queries.getTargetHealth, {}, 'BAD_REQUEST', 'targets must be an array of 1 to 10000 entries'],
    [Queries.getTargetHealth, { targets: [{ deviceId: 'd', modelId: 'm', since: 'yesterday' }] }, 'BAD_REQUEST', 'targets[0].since must be an ISO 8601 date-time, got "yesterday"'],
    [Queries.getTargetHealth, { targets: [{ deviceId: 'd', modelId: 'm', since: iso(0) }, { deviceId: '', modelId: 'm', since: iso(0) }] }, 'BAD_REQUEST', 'targets[1].deviceId must be a non-empty string'],
    [Queries.getTargetHealth, { targets: [null] }, 'BAD_REQUEST', 'targets[0] must be an object'],
    [Queries.getDistributionMetrics, { id: '' }, 'BAD_REQUEST', 'id must be a non-empty string'],
    [Queries.getDistributionMetrics, { id: 'd-unknown' }, 'NOT_FOUND', 'distribution d-unknown not found'],
    [Queries.getAbTestResult, { id: 'd-unknown' }, 'NOT_FOUND', 'distribution d-unknown not found'],
    [Queries.getAbTestResult, { id: 'd-fine' }, 'CONFLICT', 'distribution d-fine is a Canary rollout, not an A/B test'],
  ])('answers %s %j with %s naming the problem', async (subject, payload, code, message) => {
    const error = await request(subject, payload).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toContain(message);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { defaultMonitorOptions, type MonitorOptions } from '../monitor.options.js';
import { DegradationAlerts } from './degradation-alerts.js';

/** The alert outbox on a real JetStream event store and PGlite, against a webhook that always fails. */
let t: TestRuntime;
let server: Server;
let calls = 0;
const running: DegradationAlerts[] = [];

async function start(options: Partial<MonitorOptions>): Promise<DegradationAlerts> {
  const alerts = new DegradationAlerts(t.runtime, { ...defaultMonitorOptions, ...options });
  await alerts.onModuleInit();
  running.push(alerts);
  return alerts;
}

async function degrade(alerts: DegradationAlerts, id: string): Promise<void> {
  const { position } = await t.runtime.eventStore.append(`distribution-${id}`, [{
    type: 'DegradationDetected', data: { distributionId: id, trigger: 'errorRate', detail: 'error rate 9.0% on all…', by: 'monitor', at: '2026-01-01T00:00:00.000Z' },
    metadata: { schemaVersion: 1, actor: 'monitor', occurredAt: '2026-01-01T00:00:00.000Z' },
  }], 'any');
  await alerts.waitFor(position);
}

const statusOf = async (id: string) => (await t.runtime.db.query<{ status: string; attempts: number; last_error: string | null }>(
  `SELECT status, attempts, last_error FROM monitor_alerts WHERE body->>'distributionId' = $1`, [id],
)).rows;

beforeAll(async () => {
  t = await startTestRuntime();
  server = createServer((_req, res) => { calls += 1; res.writeHead(500).end(); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}, 30_000);

afterAll(async () => {
  for (const alerts of running) await alerts.onModuleDestroy();
  await new Promise((resolve) => server?.close(resolve));
  await t?.cleanup();
});

describe('monitor - degradation alerts', () => {
  it('gives an alert up after alertMaxAttempts failed calls, waiting the backoff in between, and logs it', async () => {
    const alerts = await start({ alertWebhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, alertMaxAttempts: 2, alertRetryBaseMs: 1_000 });
    await degrade(alerts, 'a-1');
    await alerts.deliverDue();
    expect(await statusOf('a-1')).toEqual([{ status: 'Pending', attempts: 1, last_error: 'HTTP 500' }]);
    await alerts.deliverDue();
    expect(calls).toBe(1);
    t.clock.advance(1_000);
    await alerts.deliverDue();
    expect(calls).toBe(2);
    expect(await statusOf('a-1')).toEqual([{ status: 'Failed', attempts: 2, last_error: 'HTTP 500' }]);
    expect(t.logs.find((l) => l.message === 'alert given up')?.fields).toMatchObject({ distributionId: 'a-1', attempts: 2, error: 'HTTP 500' });
    await alerts.onModuleDestroy();
  });

  it('records the reason when the receiver cannot be reached', async () => {
    const alerts = await start({ alertWebhookUrl: 'http://127.0.0.1:1/', alertTimeoutMs: 2_000 });
    await degrade(alerts, 'a-2');
    await alerts.deliverDue();
    const [row] = await statusOf('a-2');
    expect(row).toMatchObject({ status: 'Pending', attempts: 1 });
    expect(row!.last_error).toEqual(expect.any(String));
    await alerts.onModuleDestroy();
  });

  it('only records alerts without a webhook URL', async () => {
    const alerts = await start({});
    alerts.onApplicationBootstrap();
    await degrade(alerts, 'a-3');
    await alerts.deliverDue();
    expect(await statusOf('a-3')).toEqual([{ status: 'Pending', attempts: 0, last_error: null }]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNatsTrust, mintServiceCredentials, natsServerTrustConfig } from '../nats-auth/index.js';
import { startNatsServer, type NatsServer } from '../testing/nats-server.js';
import { serviceRuntimeFromEnv, type StartedRuntime } from './bootstrap.js';

// A service alone, as runServiceModule starts it: real NATS, PostgreSQL, and its METRICS_PORT server.

const POSTGRES_URL = process.env['HOTSWAP_TEST_POSTGRES_URL'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

let nats: NatsServer;
let dataDir: string;
let started: StartedRuntime;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  dataDir = await mkdtemp(join(tmpdir(), 'hotswap-bootstrap-'));
  started = await serviceRuntimeFromEnv('guarded-service', {
    NATS_URL: nats.url, DATABASE_URL: POSTGRES_URL, HOTSWAP_DATA_DIR: dataDir, METRICS_PORT: '0', LOG_LEVEL: 'silent', OTEL_SDK_DISABLED: 'true',
  });
}, 60_000);

afterAll(async () => {
  await started?.close();
  await nats?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a service alone on METRICS_PORT', () => {
  it('serves its process figures and open connections (its NATS connection, its PostgreSQL pool, the scraper\'s socket) at GET /metrics', async () => {
    const url = started.metricsUrl ?? '';
    await fetch(url);
    const text = await (await fetch(url)).text();

    expect(text).toMatch(/^process_open_connections\{connection_type="nats"\} 1$/m);
    expect(text).toMatch(/^process_open_connections\{connection_type="http"\} [1-9]\d*$/m);
    expect(text).toMatch(/^process_open_connections\{connection_type="postgresql"\} [1-9]\d*$/m);
    for (const name of ['process_cpu_utilization', 'process_memory_usage', 'process_memory_utilization', 'nodejs_eventloop_delay_p99', 'nodejs_eventloop_utilization']) {
      expect(text).toMatch(new RegExp(`^${name} [0-9.e+-]+$`, 'm'));
    }
  });

  it('answers GET /readyz from the checks the service registers: 200 while ready, 503 with the reason otherwise', async () => {
    const readyz = (started.metricsUrl ?? '').replace('/metrics', '/readyz');
    expect((await fetch(readyz)).status).toBe(200);

    const remove = started.runtime.readiness?.register('test.saturation', () => ({ ready: false, reason: 'saturated for the test' }));
    const response = await fetch(readyz);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'not ready', reason: 'saturated for the test' });

    remove?.();
    expect((await fetch(readyz)).status).toBe(200);
  });
});

describe('a service on a NATS server that requires authentication', () => {
  const quiet = { DATABASE_URL: POSTGRES_URL, LOG_LEVEL: 'silent', OTEL_SDK_DISABLED: 'true' };

  it('connects to an operator-mode server with its NATS_CREDS and keeps its events there; without them it is refused', async () => {
    const trust = await createNatsTrust();
    const dir = await mkdtemp(join(tmpdir(), 'hotswap-bootstrap-creds-'));
    await writeFile(join(dir, 'server.conf'), natsServerTrustConfig(trust));
    const server = await startNatsServer({ config: join(dir, 'server.conf') });
    let service: StartedRuntime | undefined;
    try {
      const creds = join(dir, 'service.creds');
      await writeFile(creds, (await mintServiceCredentials(trust, 'creds-service')).creds);
      service = await serviceRuntimeFromEnv('creds-service', { ...quiet, NATS_URL: server.url, HOTSWAP_DATA_DIR: dir, NATS_CREDS: creds });
      const stream = `creds-${Date.now()}`;
      await service.runtime.eventStore.append(stream, [{ type: 'Probe', data: { n: 1 } }], 0);
      expect((await service.runtime.eventStore.readStream(stream)).map((e) => e.type)).toEqual(['Probe']);
      await expect(serviceRuntimeFromEnv('creds-service', { ...quiet, NATS_URL: server.url, HOTSWAP_DATA_DIR: dir })).rejects.toThrow(/Authorization Violation/i);
    } finally {
      await service?.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('connects with NATS_USER and NATS_PASS, and is refused with a wrong password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotswap-bootstrap-user-'));
    await writeFile(join(dir, 'server.conf'), 'authorization { user: svc, password: "s3cret-pass" }\n');
    const server = await startNatsServer({ config: join(dir, 'server.conf') });
    let service: StartedRuntime | undefined;
    try {
      service = await serviceRuntimeFromEnv('user-service', { ...quiet, NATS_URL: server.url, HOTSWAP_DATA_DIR: dir, NATS_USER: 'svc', NATS_PASS: 's3cret-pass' });
      expect(service.runtime.nats.isClosed()).toBe(false);
      await expect(serviceRuntimeFromEnv('user-service', { ...quiet, NATS_URL: server.url, HOTSWAP_DATA_DIR: dir, NATS_USER: 'svc', NATS_PASS: 'wrong' }))
        .rejects.toThrow(/Authorization Violation/i);
    } finally {
      await service?.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DISTRIBUTION_OWNERS_BUCKET, Streams, type DistributionStatusView } from '@hotswap/contracts';
import { DeviceRegistryModule } from '@hotswap/device-registry';
import { issueDevToken } from '@hotswap/gateway';
import {
  consoleLogger, generateSigningKeyPair, JetStreamEventStore, LocalFileArtifactStore, MessageBus, PgDatabase,
  type ServiceRuntime, type StoredEvent,
} from '@hotswap/infrastructure';
import { eventually, freePort, makeAddModel, startNatsCluster, type NatsCluster } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '@hotswap/model-registry';
import { MonitorModule } from '@hotswap/monitor';
import { ValidatorModule } from '@hotswap/validator';
import { compileWorkspace, type AppName, type CompiledWorkspace } from './support/compile-workspace.js';

// Issue 7, without Docker: a 3-node NATS cluster on loopback, 3 distributor and 2 gateway
// processes (the apps' own main.ts, compiled), the fleet simulator in a process of its own, and the
// other services in this process, each on its own connection to a node. The distributor that owns
// a rollout is SIGKILLed mid-way: another one takes it over when its lease runs out, the rollout
// completes, no device is commanded twice, and the stream says who took over from whom.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PG_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const JWT_SECRET = 'scale-out-jwt-secret';
const URL_SECRET = 'scale-out-url-secret';
const DEVICES = 30;
const PREFIX = 'so';
const LEASE = 'PT2S';

interface AppProcess {
  readonly name: string;
  proc: ChildProcessByStdio<null, Readable, Readable>;
  /** The last lines it wrote (stdout and stderr), for failure messages and readiness. */
  readonly lines: string[];
  /** Starts it again (a supervisor's restart), same arguments and environment. */
  respawn(): void;
  restarts: number;
}

const cleanups: Array<() => Promise<unknown>> = [];
const apps: AppProcess[] = [];
let cluster: NatsCluster;
let compiled: CompiledWorkspace;
let admin: NatsConnection;
let events: JetStreamEventStore;
let gatewayUrls: string[];
let simulator: AppProcess;

function start(name: string, file: string, env: Record<string, string>, args: readonly string[] = []): AppProcess {
  const lines: string[] = [];
  const keep = (chunk: string) => {
    lines.push(...chunk.split('\n').filter((l) => l.trim() !== ''));
    lines.splice(0, Math.max(0, lines.length - 200));
  };
  const launch = () => {
    // A clean environment: nothing of this process's own configuration leaks into the apps.
    const proc = spawn(process.execPath, ['--import', compiled.register, file, ...args], {
      cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout.setEncoding('utf8').on('data', keep);
    proc.stderr.setEncoding('utf8').on('data', keep);
    return proc;
  };
  const app: AppProcess = {
    name, proc: launch(), lines, restarts: 0,
    respawn() {
      app.restarts += 1;
      lines.push(`--- restarted (${app.restarts}) ---`);
      app.proc = launch();
    },
  };
  apps.push(app);
  return app;
}

const startApp = (name: string, app: AppName, env: Record<string, string>) => start(name, compiled.main(app), env);

async function stopProcess({ proc }: AppProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const tail = (app: AppProcess, n = 15) => `${app.name} (exit ${app.proc.exitCode ?? app.proc.signalCode ?? 'running'}):\n  ${app.lines.slice(-n).join('\n  ')}`;

/**
 * Waits until the app logs that it is ready. An app that cannot start exits 1 (e.g. a JetStream
 * request timing out on a loaded machine); like its supervisor in production (docker-compose's
 * `restart: unless-stopped`) this restarts it, at most twice.
 */
async function waitUntilReady(app: AppProcess, pattern: RegExp, timeoutMs = 45_000): Promise<void> {
  const isReady = () => {
    const since = app.lines.lastIndexOf(`--- restarted (${app.restarts}) ---`);
    return app.lines.slice(since + 1).some((l) => pattern.test(l));
  };
  try {
    await eventually(() => {
      if (app.proc.exitCode !== null) {
        if (app.restarts >= 2) throw new Error(`exited with ${app.proc.exitCode}`);
        app.respawn();
      }
      return isReady();
    }, (ready) => ready, timeoutMs, 50);
  } catch (error) {
    throw new Error(`${app.name} did not log ${pattern}: ${String(error)}\n${tail(app, 30)}`);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked by the assertions
async function api(gateway: number, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const token = await issueDevToken({ secret: JWT_SECRET, subject: 'scale-out-admin', roles: ['Admin'], ttlSeconds: 600 });
  const res = await fetch(`${gatewayUrls[gateway]}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A gateway call that may fail while a distributor dies (its in-flight request times out): retried by the poll. */
const tolerant = (gateway: number, path: string) => api(gateway, path).catch((error: unknown) => ({ status: 0, body: { error: String(error) } }));

const distributionEvents = (id: string): Promise<StoredEvent[]> => events.readStream(Streams.distribution(id));

async function owner(id: string): Promise<string | undefined> {
  const entry = await (await new Kvm(admin).open(DISTRIBUTION_OWNERS_BUCKET)).get(id);
  return entry?.operation === 'PUT' ? entry.json<{ owner: string }>().owner : undefined;
}

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hotswap-scale-out-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  cluster = await startNatsCluster(3);
  cleanups.push(() => cluster.stop());
  const urls = cluster.nodes.map((n) => n.url);

  // Made before any service starts, which then find them and use them as they are: the event
  // stream and the ownership bucket replicated on all three nodes (R3), as production runs them.
  admin = await connect({ servers: cluster.url, name: 'scale-out-test' });
  cleanups.push(() => admin.close());
  events = await JetStreamEventStore.fromConnection(admin, { replicas: 3 });
  await new Kvm(admin).create(DISTRIBUTION_OWNERS_BUCKET, { history: 1, replicas: 3 });

  // A database of its own: the apps' processes keep their read models in schemas named after
  // themselves (the three distributors share one, as replicas do).
  const database = `scale_out_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const server = await PgDatabase.connect({ connectionString: PG_URL });
  await server.exec(`CREATE DATABASE ${database}`);
  cleanups.push(async () => {
    await server.exec(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await server.close();
  });
  const dbUrl = new URL(PG_URL);
  dbUrl.pathname = `/${database}`;
  const databaseUrl = dbUrl.toString();

  compiled = await compileWorkspace('hotswap-e2e-scale-out');
  cleanups.push(() => compiled.remove());
  const keys = generateSigningKeyPair();
  const privateKeyFile = join(dataDir, 'manifest.pem');
  const publicKeyFile = join(dataDir, 'manifest.pub.pem');
  await writeFile(privateKeyFile, keys.privateKeyPem);
  await writeFile(publicKeyFile, keys.publicKeyPem);
  const artifactDir = join(dataDir, 'artifacts');
  const artifacts = new LocalFileArtifactStore({ rootDir: artifactDir });

  // From here on every process is stopped by the cleanup, whatever fails.
  cleanups.push(() => Promise.all(apps.map(stopProcess)));

  // Registry, device registry, validator and monitor in this process, on different nodes.
  const db = await PgDatabase.connect({ connectionString: databaseUrl, schema: 'in_process' });
  cleanups.push(() => db.close());
  const contexts: INestApplicationContext[] = [];
  cleanups.push(async () => {
    for (const context of contexts.reverse()) await context.close().catch(() => undefined);
  });
  const runtimeOn = async (service: string, url: string): Promise<ServiceRuntime> => {
    const nc = await connect({ servers: url, name: `scale-out-${service}`, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    cleanups.push(() => nc.close());
    const logger = consoleLogger(service, true);
    return { nats: nc, bus: new MessageBus(nc, { logger }), eventStore: await JetStreamEventStore.fromConnection(nc), db, artifacts, clock: () => new Date(), logger };
  };
  for (const [service, module] of [
    ['model-registry', async () => ModelRegistryModule.register(await runtimeOn('model-registry', urls[0]!))],
    ['device-registry', async () => DeviceRegistryModule.register(await runtimeOn('device-registry', urls[1]!))],
    ['validator', async () => ValidatorModule.register(await runtimeOn('validator', urls[2]!))],
    ['monitor', async () => MonitorModule.register(await runtimeOn('monitor', urls[0]!))],
  ] as const) {
    const context = await NestFactory.createApplicationContext(await module(), { logger: ['error', 'warn'] });
    contexts.push(context);
    await context.init().catch((error: unknown) => {
      throw new Error(`${service} did not start: ${String(error)}`);
    });
  }

  const common = { DATABASE_URL: databaseUrl, HOTSWAP_ARTIFACT_DIR: artifactDir, HOTSWAP_URL_SIGNING_SECRET: URL_SECRET };
  const gatewayPorts = [await freePort(), await freePort()];
  gatewayUrls = gatewayPorts.map((port) => `http://127.0.0.1:${port}`);
  const gateways = gatewayPorts.map((port, i) => startApp(`gateway-${i + 1}`, 'gateway', {
    ...common, NATS_URL: urls[i]!, HOTSWAP_DATA_DIR: join(dataDir, `gateway-${i + 1}`), HOST: '127.0.0.1', PORT: String(port),
    HOTSWAP_JWT_SECRET: JWT_SECRET, HOTSWAP_RATE_LIMIT_READS_PER_MINUTE: '0', HOTSWAP_RATE_LIMIT_UPLOADS_PER_HOUR: '0', HOTSWAP_RATE_LIMIT_DISTRIBUTIONS_PER_HOUR: '0',
  }));
  const distributors = urls.map((url, i) => startApp(`distributor-${i + 1}`, 'distributor', {
    ...common, NATS_URL: url, HOTSWAP_DATA_DIR: join(dataDir, `distributor-${i + 1}`), HOTSWAP_INSTANCE_ID: `distributor-${i + 1}`,
    // Devices download through the second gateway; the model is uploaded through the first.
    HOTSWAP_ARTIFACT_BASE_URL: gatewayUrls[1]!, HOTSWAP_MANIFEST_PRIVATE_KEY_FILE: privateKeyFile,
    HOTSWAP_DISTRIBUTOR_TICK: 'PT0.2S', HOTSWAP_OWNERSHIP_LEASE: LEASE, HOTSWAP_HEALTH_WINDOW: 'PT0S', HOTSWAP_DEVICE_TIMEOUT: 'PT30S',
  }));
  await Promise.all([
    ...gateways.map((g) => waitUntilReady(g, /listening on/)),
    ...distributors.map((d) => waitUntilReady(d, /"started"/)),
  ]);

  // Devices connect to any of the three nodes (the client picks one at random per connection).
  simulator = start('simulator', compiled.simulator, {}, [
    '--devices', String(DEVICES), '--nats', cluster.url, '--prefix', PREFIX, '--data-dir', join(dataDir, 'fleet'),
    '--manifest-public-key', publicKeyFile, '--status-every', '250', '--log-level', 'error',
  ]);
  try {
    await eventually(() => tolerant(0, `/api/v1/devices?tag=simulated&status=Online&limit=1`), (r) => r.body?.total === DEVICES, 40_000, 250);
  } catch (error) {
    throw new Error(`the simulated devices did not come Online: ${String(error)}\n${tail(simulator)}`);
  }
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.warn(`cleanup: ${String(error)}`));
}, 60_000);

describe('scale-out: three distributors, two gateways, a NATS cluster', () => {
  it('completes a rollout whose distributor is killed mid-way, commanding no device twice, and records the takeover', async () => {
    // The artifact goes in through the first gateway.
    const bytes = makeAddModel({ addend: 7 });
    const form = new FormData();
    form.set('name', 'scale');
    form.set('version', '1.0.0');
    form.set('framework', 'onnx');
    form.set('checksum', createHash('sha256').update(bytes).digest('hex'));
    form.set('artifact', new Blob([new Uint8Array(bytes)]), 'scale.onnx');
    const uploaded = await api(0, '/api/v1/models', { method: 'POST', body: form });
    expect(uploaded.status).toBe(202);
    const modelId = uploaded.body.id as string;
    const model = await eventually(() => api(0, `/api/v1/models/${modelId}`), (r) => ['Validated', 'Rejected'].includes(r.body?.status), 30_000, 100);
    expect(model.body.status).toBe('Validated');

    // Two stages: a third of the fleet, observed long enough to kill its owner and let the lease run out, then the rest.
    const created = await api(0, '/api/v1/distributions', {
      method: 'POST',
      body: JSON.stringify({
        modelId, strategy: 'ProgressiveRollout', targetFilter: { tags: ['simulated'] }, autoProgress: true,
        stages: [{ percentage: 33, duration: 'PT5S' }, { percentage: 100, duration: 'PT0S' }], execution: { maxInFlight: 4 },
      }),
    });
    expect(created.status).toBe(202);
    const id = created.body.id as string;

    // Mid-way: the first stage is done and observed, nothing is in flight, two thirds still wait.
    const summary = async () => (await distributionEvents(id)).map((e) => ('wave' in e.data ? `${e.type}:${String(e.data['wave'])}` : e.type));
    try {
      await eventually(summary, (types) => types.includes('WaveCompleted:1'), 30_000, 50);
    } catch (error) {
      throw new Error(`the first stage did not complete: ${String(error)}\n${tail(simulator)}\n${apps.filter((a) => a.name.startsWith('distributor')).map((a) => tail(a)).join('\n')}`);
    }
    const killed = await owner(id);
    expect(killed).toMatch(/^distributor-[123]$/);
    const victim = apps.find((a) => a.name === killed)!;
    victim.proc.kill('SIGKILL');
    await new Promise((resolve) => victim.proc.once('exit', resolve));

    // Watched through the second gateway: the rollout goes on under another owner.
    let final: DistributionStatusView;
    try {
      final = (await eventually(() => tolerant(1, `/api/v1/distributions/${id}/status`),
        (r) => ['Succeeded', 'Failed', 'RolledBack', 'Cancelled'].includes(r.body?.status), 40_000, 250)).body as DistributionStatusView;
    } catch (error) {
      const seen = (await distributionEvents(id)).map((e) => `${e.type}:${String(e.data['deviceId'] ?? e.data['wave'] ?? '')}`);
      throw new Error(`the rollout did not finish: ${String(error).slice(0, 500)}\nstream: ${seen.join(' ')}\n${tail(simulator)}\n${apps.filter((a) => a.name.startsWith('distributor')).map((a) => tail(a)).join('\n')}`);
    }
    expect(final).toMatchObject({ status: 'Succeeded', progress: { total: DEVICES, updated: DEVICES } });
    expect(final.devices.filter((d) => d.state !== 'Updated')).toEqual([]);

    const stream = await distributionEvents(id);
    // Exactly one command per device, the same number as devices.
    const requested = stream.filter((e) => e.type === 'TargetUpdateRequested').map((e) => String(e.data['deviceId']));
    expect(requested).toHaveLength(DEVICES);
    expect(new Set(requested).size).toBe(DEVICES);
    // The takeover, from the killed instance, before the second stage started.
    const takeovers = stream.filter((e) => e.type === 'DistributionTakenOver');
    expect(takeovers.map((e) => e.data)).toEqual([{ distributionId: id, from: killed, to: expect.stringMatching(/^distributor-[123]$/), reason: 'lease expired', at: expect.any(String) }]);
    const successor = String(takeovers[0]!.data['to']);
    expect(successor).not.toBe(killed);
    const secondStage = stream.findIndex((e) => e.type === 'WaveStarted' && e.data['wave'] === 2);
    expect(stream.indexOf(takeovers[0]!)).toBeLessThan(secondStage);
    expect(final.history).toContainEqual(expect.objectContaining({ action: 'taken over', by: successor, detail: `from ${killed}: lease expired` }));
    expect(await owner(id)).toBeUndefined(); // released by the successor once finished

    // The devices saw the same: each swapped to the model once.
    await eventually(() => simulator.lines.at(-1) ?? '', (line) => line.includes(`models ${modelId}:${DEVICES} `), 5_000, 100);
    expect(simulator.lines.at(-1)).toContain(`swaps ${DEVICES} `);

    // The events and the ownership claims really are replicated: three peers each, all current.
    for (const name of ['HOTSWAP_EVENTS', `KV_${DISTRIBUTION_OWNERS_BUCKET}`]) {
      const info = await (await jetstreamManager(admin)).streams.info(name);
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas?.filter((r) => r.current)).toHaveLength(2);
    }
  }, 90_000);
});

/**
 * Scaling of the distributor (issue 8, "Scaling test"): devices updated per minute with 1, 2 and 3
 * distributor processes (BENCH_DISTRIBUTORS, default `1,2,3`) on this machine.
 *
 * One stack for every K: a private nats-server (anonymous, JetStream), a fresh PostgreSQL database,
 * the other services (gateway, model-registry, device-registry, validator, monitor) in this process,
 * and `hotswap fleet simulate --devices BENCH_DEVICES --rate 0` (default 1000) in a child process of
 * its own, started once. Per K, K fresh distributor processes (the app's own main.ts, compiled by
 * test/e2e/support/compile-workspace.ts, each with its METRICS_PORT) join, the bench waits until
 * every one sees all K on the hash ring, then a Direct rollout of a new version of a 130-byte model
 * (health window PT0S) goes to every device; afterwards the K processes are stopped. Fresh
 * processes per K keep each one's `distributor.devices.driven` gauge (its DeviceDrivers.driven set)
 * to this rollout alone.
 *
 * Figures: devices/min and per-device latency from the distribution's events (as the rollout
 * bench), also over the devices updated at their first attempt; per process the CPU it used during
 * the rollout (utime + stime from /proc/<pid>/stat, process.cpuUsage() for this process, the
 * PostgreSQL backends of the bench's database), in cores (1.0 = one core busy the whole time), and
 * the whole machine's busy share from /proc/stat (anything else running on it included).
 * Run: `npm run bench -- scaling` (BENCH_DISTRIBUTORS=3,2,1 for another order).
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DISTRIBUTION_OWNERS_BUCKET, Services, Streams, type DistributionStatusView } from '@hotswap/contracts';
import { DeviceRegistryModule } from '@hotswap/device-registry';
import { createGatewayApp, issueDevToken } from '@hotswap/gateway';
import {
  createLogger, generateSigningKeyPair, JetStreamEventStore, LocalFileArtifactStore, MessageBus, PgDatabase,
  type ServiceRuntime, type StoredEvent,
} from '@hotswap/infrastructure';
import { eventually, freePort, makeAddModel, startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '@hotswap/model-registry';
import { MonitorModule } from '@hotswap/monitor';
import { ValidatorModule } from '@hotswap/validator';
import { compileWorkspace, type CompiledWorkspace } from '../../e2e/support/compile-workspace.js';
import { eventAt, intEnv, machineLoad, percentile } from '../support/fleet-stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PG_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const JWT_SECRET = 'bench-scaling-jwt-secret';
const URL_SECRET = 'bench-scaling-url-secret';
const PREFIX = 'scale';
const DEVICES = intEnv('BENCH_DEVICES', 1000);
const COUNTS = distributorCounts(process.env['BENCH_DISTRIBUTORS'] ?? '1,2,3');
/** A generous bound per rollout: 1000 devices/min would be 60 s per 1000. */
const TIMEOUT_MS = Math.max(300_000, DEVICES * 120);
const FINISHED = ['Succeeded', 'Failed', 'RolledBack', 'Cancelled'] as const;

function distributorCounts(raw: string): number[] {
  const counts = raw.split(',').map((s) => Number(s.trim()));
  if (counts.length === 0 || counts.some((k) => !Number.isSafeInteger(k) || k < 1 || k > 8)) {
    throw new Error(`BENCH_DISTRIBUTORS must be a comma-separated list of process counts 1..8, got "${raw}"`);
  }
  return counts;
}

// ---- CPU accounting -------------------------------------------------------------------------

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; undefined once it is gone. */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

const selfCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** The machine's busy and total CPU seconds (all cores) so far, from /proc/stat. */
function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '))!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy / CLK_TCK, total: (busy + idle! + iowait!) / CLK_TCK };
}

/**
 * CPU seconds of the PostgreSQL backends serving the bench's database, by pid (they run on this
 * machine; the server's background processes and other databases' backends are not counted).
 */
async function postgresCpuSeconds(): Promise<Map<number, number>> {
  const { rows } = await pgServer.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  return new Map(rows.flatMap(({ pid }) => {
    const seconds = cpuSecondsOf(Number(pid));
    return seconds === undefined ? [] : [[Number(pid), seconds] as const];
  }));
}

/** Whether the bench's nats-server still runs, for failure messages (something else on the machine may stop it). */
const natsState = () => `nats-server pid ${natsPid ?? '?'}: ${natsPid !== undefined && cpuSecondsOf(natsPid) !== undefined ? 'running' : 'gone'}`;

/** The pid of the nats-server this bench started (the harness does not expose it): the one listening on its port. */
function natsServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('nats-server') && args[args.indexOf('-p') + 1] === String(port)) return Number(entry);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined;
}

// ---- Child processes ------------------------------------------------------------------------

interface Child {
  readonly name: string;
  readonly proc: ChildProcessByStdio<null, Readable, Readable>;
  /** The last lines it wrote (stdout and stderr). */
  readonly lines: string[];
  /** Warning and error lines by message, for the record. */
  readonly warnings: Map<string, number>;
  metricsUrl?: string;
}

const children: Child[] = [];

function spawnChild(name: string, file: string, env: Record<string, string>, args: readonly string[] = []): Child {
  // A clean environment: nothing of this process's own configuration leaks into the child.
  const proc = spawn(process.execPath, ['--import', compiled.register, file, ...args], {
    cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { name, proc, lines: [], warnings: new Map() };
  // Per stream: a chunk may end mid-line; the rest comes with the next one.
  const keep = (pending: { text: string }) => (chunk: string) => {
    const parts = (pending.text + chunk).split('\n');
    pending.text = parts.pop() ?? '';
    for (const line of parts) {
      if (line.trim() === '') continue;
      child.lines.push(line);
      const fields = logFields(line);
      if (fields?.['level'] === 'warn' || fields?.['level'] === 'error') {
        // Counted by message and error, numbers left out (stream versions, ids) so that alike ones add up.
        const message = `${String(fields['message'])}${fields['error'] === undefined ? '' : `: ${String(fields['error']).replace(/\d+/g, 'N').slice(0, 160)}`}`;
        child.warnings.set(message, (child.warnings.get(message) ?? 0) + 1);
      }
    }
    child.lines.splice(0, Math.max(0, child.lines.length - 300));
  };
  proc.stdout.setEncoding('utf8').on('data', keep({ text: '' }));
  proc.stderr.setEncoding('utf8').on('data', keep({ text: '' }));
  children.push(child);
  return child;
}

async function stopChild({ proc }: Child): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

const tail = (child: Child, n = 20) => `${child.name} (exit ${child.proc.exitCode ?? child.proc.signalCode ?? 'running'}):\n  ${child.lines.slice(-n).join('\n  ')}`;

/** A JSON log line's fields, or undefined for other output. */
function logFields(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Whether the distributor sees `k` instances and has rebalanced its devices over them: a lone
 * instance never logs a change; the others log each change, then "device affinity rebalanced",
 * except for a change seen while starting (before "started"), when no device was driven yet.
 */
function seesInstances(child: Child, k: number): boolean {
  const logs = child.lines.map(logFields);
  const lastChange = logs.findLastIndex((f) => f?.['message'] === 'distributor instances changed');
  if (lastChange === -1) return k === 1;
  const members = logs[lastChange]!['members'];
  const after = logs.slice(lastChange + 1).map((f) => f?.['message']);
  return Array.isArray(members) && members.length === k && (after.includes('device affinity rebalanced') || after.includes('started'));
}

/** A gauge's value in a Prometheus text exposition (the first series of that name). */
async function scrapeGauge(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

// ---- The stack ------------------------------------------------------------------------------

const cleanups: Array<() => Promise<unknown>> = [];
let compiled: CompiledWorkspace;
let nats: NatsServer;
let natsPid: number | undefined;
let reader: NatsConnection;
let events: JetStreamEventStore;
let gatewayUrl: string;
let distributorEnv: Record<string, string>;
let dataDir: string;
let publicKeyFile: string;
let simulator: Child | undefined;
/** The bench's database, and a connection outside it that lists the server's backends for it. */
let database: string;
let pgServer: PgDatabase;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked by the bench
async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const token = await issueDevToken({ secret: JWT_SECRET, subject: 'bench-admin', roles: ['Admin'], ttlSeconds: 3600 });
  const res = await fetch(`${gatewayUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The gateway may drop a request while a service is swamped; the next poll retries. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as api()
const tolerant = (path: string): Promise<{ status: number; body: any }> => api(path).catch((error: unknown) => ({ status: 0, body: { error: String(error) } }));

async function uploadValidated(name: string, version: string, bytes: Buffer): Promise<string> {
  const form = new FormData();
  form.set('name', name);
  form.set('version', version);
  form.set('framework', 'onnx');
  form.set('checksum', createHash('sha256').update(bytes).digest('hex'));
  form.set('artifact', new Blob([new Uint8Array(bytes)]), `${name}.onnx`);
  const reply = await api('/api/v1/models', { method: 'POST', body: form });
  if (reply.status !== 202) throw new Error(`upload of ${name} ${version}: ${reply.status} ${JSON.stringify(reply.body)}`);
  const id = reply.body.id as string;
  const { body } = await eventually(() => api(`/api/v1/models/${id}`), (r) => r.body?.status === 'Validated' || r.body?.status === 'Rejected', 60_000, 200);
  if (body.status !== 'Validated') throw new Error(`model ${id} is ${body.status}`);
  return id;
}

/** Starts K distributor processes into `started` (so that a failure still stops them all) and waits until each sees all K on the ring. */
async function startDistributors(k: number, started: Child[]): Promise<void> {
  started.push(...await Promise.all(Array.from({ length: k }, async (_, i) => {
    const instance = `distributor-${k}-${i + 1}`;
    const port = await freePort();
    const child = spawnChild(instance, compiled.main('distributor'), {
      ...distributorEnv, HOTSWAP_INSTANCE_ID: instance, HOTSWAP_DATA_DIR: join(dataDir, instance), METRICS_PORT: String(port),
    });
    child.metricsUrl = `http://127.0.0.1:${port}/metrics`;
    return child;
  })));
  for (const child of started) {
    try {
      await eventually(() => {
        if (child.proc.exitCode !== null) throw new Error(`exited with ${child.proc.exitCode}`);
        return child.lines.some((l) => logFields(l)?.['message'] === 'started');
      }, (ready) => ready, 60_000, 100);
    } catch (error) {
      throw new Error(`${child.name} did not start: ${String(error)}\n${tail(child)}`);
    }
  }
  try {
    await eventually(() => started.every((c) => seesInstances(c, k)), (all) => all, 30_000, 100);
  } catch (error) {
    throw new Error(`the ${k} distributors did not all see each other: ${String(error)}\n${started.map((c) => tail(c, 6)).join('\n')}`);
  }
}

async function startFleet(): Promise<number> {
  const started = Date.now();
  simulator = spawnChild('simulator', compiled.simulator, {}, [
    '--devices', String(DEVICES), '--nats', nats.url, '--prefix', PREFIX, '--rate', '0', '--data-dir', join(dataDir, 'fleet'),
    '--manifest-public-key', publicKeyFile, '--status-every', '2000', '--log-level', 'error',
  ]);
  let lastPrint = started;
  try {
    await eventually(async () => {
      if (simulator!.proc.exitCode !== null) throw new Error(`the simulator exited with ${simulator!.proc.exitCode}`);
      const reply = await tolerant('/api/v1/devices?tag=simulated&status=Online&limit=1');
      if (Date.now() - lastPrint > 30_000) {
        lastPrint = Date.now();
        console.log(`after ${Math.round((lastPrint - started) / 1000)} s: ${reply.body?.total} Online; simulator: ${simulator!.lines.at(-1)}; ${machineLoad()}`);
      }
      return reply;
    }, (r) => r.body?.total === DEVICES, Math.max(120_000, DEVICES * 200), 1_000);
  } catch (error) {
    throw new Error(`${DEVICES} devices did not come Online: ${String(error).slice(0, 500)}\n${tail(simulator)}`);
  }
  return Date.now() - started;
}

beforeAll(async () => {
  console.log(`scaling benchmark: ${DEVICES} devices, ${COUNTS.join(', ')} distributor process(es), ${cpus().length} CPUs; ${machineLoad()}`);
  dataDir = await mkdtemp(join(tmpdir(), 'bench-scaling-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  nats = await startNatsServer({ jetstream: true });
  cleanups.push(() => nats.stop());
  natsPid = natsServerPid(nats.port);

  // A database of its own: the distributor processes share the schema `distributor`, as replicas do.
  database = `bench_scaling_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  pgServer = await PgDatabase.connect({ connectionString: PG_URL });
  await pgServer.exec(`CREATE DATABASE ${database}`);
  cleanups.push(async () => {
    await pgServer.exec(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await pgServer.close();
  });
  const dbUrl = new URL(PG_URL);
  dbUrl.pathname = `/${database}`;

  compiled = await compileWorkspace('hotswap-bench-scaling');
  cleanups.push(() => compiled.remove());
  const keys = generateSigningKeyPair();
  const privateKeyFile = join(dataDir, 'manifest.pem');
  publicKeyFile = join(dataDir, 'manifest.pub.pem');
  await writeFile(privateKeyFile, keys.privateKeyPem);
  await writeFile(publicKeyFile, keys.publicKeyPem);
  const artifactDir = join(dataDir, 'artifacts');
  const artifacts = new LocalFileArtifactStore({ rootDir: artifactDir });

  // From here on every child process is stopped by the cleanup, whatever fails.
  cleanups.push(() => Promise.all(children.map(stopChild)));

  // Everything but the distributors in this process, each service on its own connection.
  const db = await PgDatabase.connect({ connectionString: dbUrl.toString(), schema: 'in_process' });
  cleanups.push(() => db.close());
  const contexts: INestApplicationContext[] = [];
  cleanups.push(async () => {
    for (const context of contexts.reverse()) await context.close().catch(() => undefined);
  });
  const runtimeFor = async (service: string): Promise<ServiceRuntime> => {
    const nc = await connect({ servers: nats.url, name: `bench-${service}`, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    cleanups.push(() => nc.close());
    // Errors only: thousands of devices registering at once make the services warn by the thousand.
    const logger = createLogger(service, { level: 'error' });
    return { nats: nc, bus: new MessageBus(nc, { logger }), eventStore: await JetStreamEventStore.fromConnection(nc), db, artifacts, clock: () => new Date(), logger };
  };
  const gatewayRuntime = await runtimeFor('gateway');
  const gateway = await createGatewayApp({
    bus: gatewayRuntime.bus, artifacts, jwtSecret: JWT_SECRET, urlSigningSecret: URL_SECRET, maxUploadBytes: 64 * 1024 ** 2, clock: () => new Date(),
  }, { host: '127.0.0.1', port: 0 });
  contexts.push(gateway);
  gatewayUrl = `http://127.0.0.1:${(gateway.getHttpServer().address() as { port: number }).port}`;
  for (const [service, module] of [
    [Services.modelRegistry, async () => ModelRegistryModule.register(await runtimeFor(Services.modelRegistry))],
    [Services.deviceRegistry, async () => DeviceRegistryModule.register(await runtimeFor(Services.deviceRegistry))],
    [Services.validator, async () => ValidatorModule.register(await runtimeFor(Services.validator))],
    [Services.monitor, async () => MonitorModule.register(await runtimeFor(Services.monitor))],
  ] as const) {
    const context = await NestFactory.createApplicationContext(await module(), { logger: ['error', 'warn'] });
    contexts.push(context);
    await context.init().catch((error: unknown) => {
      throw new Error(`${service} did not start: ${String(error)}`);
    });
  }

  reader = await connect({ servers: nats.url, name: 'bench-reader' });
  cleanups.push(() => reader.close());
  events = await JetStreamEventStore.fromConnection(reader);

  // As the rollout bench: product defaults but deviceTimeout PT1M, retryBackoff PT2S, health window PT0S.
  distributorEnv = {
    LOG_LEVEL: 'info', NATS_URL: nats.url, DATABASE_URL: dbUrl.toString(), HOTSWAP_ARTIFACT_DIR: artifactDir, HOTSWAP_URL_SIGNING_SECRET: URL_SECRET,
    HOTSWAP_ARTIFACT_BASE_URL: gatewayUrl, HOTSWAP_MANIFEST_PRIVATE_KEY_FILE: privateKeyFile,
    HOTSWAP_HEALTH_WINDOW: 'PT0S', HOTSWAP_DEVICE_TIMEOUT: 'PT1M', HOTSWAP_RETRY_BACKOFF: 'PT2S',
  };
}, 5 * 60_000);

afterAll(async () => {
  if (results.length > 0) console.log(`scaling: ${DEVICES} devices, Direct, health window PT0S (CPU in cores: 1.0 = one core busy throughout the rollout; the machine has ${cpus().length})\n${table(results)}`);
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.warn(`cleanup: ${String(error)}`));
}, 120_000);

// ---- Figures --------------------------------------------------------------------------------

interface DistributorFigures {
  readonly instance: string;
  readonly owner: boolean;
  readonly driven: number | undefined;
  readonly cpuCores: number;
  readonly warnings: Readonly<Record<string, number>>;
}

interface ScalingFigures {
  readonly distributors: number;
  readonly status: string;
  readonly updated: number;
  readonly failedAttempts: number;
  /** Distinct failure reasons with their counts. */
  readonly failures: Readonly<Record<string, number>>;
  readonly rolloutS: number;
  /** The devices updated at their first attempt, over the time until the last of them: the rate before any timeout and retry. */
  readonly firstAttemptDevicesPerMinute: number;
  readonly devicesPerMinute: number;
  readonly latencyS: { readonly p50: number; readonly p99: number };
  readonly perDistributor: readonly DistributorFigures[];
  readonly benchCpuCores: number;
  readonly simulatorCpuCores: number;
  readonly natsCpuCores: number | undefined;
  /** The PostgreSQL backends of the bench's database. */
  readonly postgresCpuCores: number;
  /** The whole machine's busy CPU over the rollout, in cores (all processes, PostgreSQL and other work included). */
  readonly machineBusyCores: number;
  readonly load: string;
}

const results: ScalingFigures[] = [];
let rollouts = 0;
const round2 = (v: number) => Math.round(v * 100) / 100;

function table(rows: readonly ScalingFigures[]): string {
  const head = '| distributors | status | updated | devices/min | first attempts: devices/min | retried | latency p50 / p99 | per distributor: devices driven, CPU | distributors\' CPU | bench process (other services) | simulator | nats-server | PostgreSQL | rest of the machine | machine busy | load avg |';
  const lines = rows.map((r) => {
    const per = r.perDistributor.map((d) => `${d.instance}${d.owner ? ' (owner)' : ''}: ${d.driven ?? '?'}, ${d.cpuCores.toFixed(2)}`).join('; ');
    const distributorsCpu = r.perDistributor.reduce((sum, d) => sum + d.cpuCores, 0);
    const ours = distributorsCpu + r.benchCpuCores + r.simulatorCpuCores + (r.natsCpuCores ?? 0) + r.postgresCpuCores;
    return `| ${r.distributors} | ${r.status} | ${r.updated} / ${DEVICES} | **${r.devicesPerMinute}** | ${r.firstAttemptDevicesPerMinute} | ${r.failedAttempts} | ${r.latencyS.p50} / ${r.latencyS.p99} s | ${per} | ${distributorsCpu.toFixed(2)} | ${r.benchCpuCores.toFixed(2)} | ${r.simulatorCpuCores.toFixed(2)} | ${r.natsCpuCores?.toFixed(2) ?? '?'} | ${r.postgresCpuCores.toFixed(2)} | ${Math.max(0, r.machineBusyCores - ours).toFixed(2)} | ${r.machineBusyCores.toFixed(2)} / ${cpus().length} | ${r.load} |`;
  });
  return [head, `|${' --- |'.repeat(16)}`, ...lines].join('\n');
}

async function ownerOf(id: string): Promise<string | undefined> {
  const entry = await (await new Kvm(reader).open(DISTRIBUTION_OWNERS_BUCKET)).get(id).catch(() => null);
  return entry?.operation === 'PUT' ? entry.json<{ owner: string }>().owner : undefined;
}

async function rollOut(k: number, distributors: readonly Child[]): Promise<ScalingFigures> {
  // Each rollout a higher version: devices refuse a lower one without a signed rollback instruction.
  const version = ++rollouts;
  const modelId = await uploadValidated('scaling-adder', `${version}.0.0`, makeAddModel({ addend: version }));
  const pids = distributors.map((d) => d.proc.pid!);
  const cpuBefore = pids.map((pid) => cpuSecondsOf(pid) ?? 0);
  const simulatorBefore = cpuSecondsOf(simulator!.proc.pid!) ?? 0;
  const natsBefore = natsPid === undefined ? undefined : cpuSecondsOf(natsPid);
  const selfBefore = selfCpuSeconds();
  const postgresBefore = await postgresCpuSeconds();
  const machineBefore = machineCpuSeconds();
  const loadBefore = machineLoad().replace('load average ', '');
  const startedAt = Date.now();

  const created = await api('/api/v1/distributions', {
    method: 'POST', body: JSON.stringify({ modelId, strategy: 'Direct', targetDevices: simulatorDeviceIds(), execution: { healthWindow: 'PT0S' } }),
  });
  if (created.status !== 202) throw new Error(`create distribution: ${created.status} ${JSON.stringify(created.body).slice(0, 500)}`);
  const id = created.body.id as string;
  let owner: string | undefined;
  let final: DistributionStatusView;
  try {
    final = (await eventually(async () => {
      owner ??= await ownerOf(id);
      return tolerant(`/api/v1/distributions/${id}/status`);
    }, (r) => (FINISHED as readonly string[]).includes(r.body?.status), TIMEOUT_MS, 1_000)).body as DistributionStatusView;
  } catch (error) {
    throw new Error(`the rollout with ${k} distributors did not finish: ${String(error).slice(0, 500)}\n${natsState()}\n${distributors.map((d) => tail(d, 8)).join('\n')}`);
  }

  const wallS = (Date.now() - startedAt) / 1000;
  const machineAfter = machineCpuSeconds();
  const postgresAfter = await postgresCpuSeconds();
  // A backend that was not there before started during the rollout: all its CPU counts.
  const postgresCpu = [...postgresAfter].reduce((sum, [pid, seconds]) => sum + seconds - (postgresBefore.get(pid) ?? 0), 0);
  const perCore = (before: number, after: number | undefined) => round2(((after ?? before) - before) / wallS);
  const driven = await Promise.all(distributors.map((d) => scrapeGauge(d.metricsUrl!, 'distributor_devices_driven').catch(() => undefined)));
  const stream: StoredEvent[] = await events.readStream(Streams.distribution(id));
  const of = (type: string) => stream.filter((e) => e.type === type);
  const started = eventAt(of('DistributionStarted')[0]!);
  const requestedAt = new Map<string, number>();
  for (const e of of('TargetUpdateRequested')) if (!requestedAt.has(String(e.data['deviceId']))) requestedAt.set(String(e.data['deviceId']), eventAt(e));
  const succeeded = of('TargetUpdateSucceeded');
  const latencies = succeeded.map((e) => eventAt(e) - requestedAt.get(String(e.data['deviceId']))!);
  const rolloutMs = Math.max(...succeeded.map(eventAt)) - started;
  const retried = new Set(of('TargetUpdateFailed').map((e) => String(e.data['deviceId'])));
  const firstAttempt = succeeded.filter((e) => !retried.has(String(e.data['deviceId'])));
  const firstAttemptMs = Math.max(...firstAttempt.map(eventAt)) - started;
  const figures: ScalingFigures = {
    distributors: k,
    status: final.status,
    updated: succeeded.length,
    failedAttempts: of('TargetUpdateFailed').length,
    failures: of('TargetUpdateFailed').reduce<Record<string, number>>((acc, e) => {
      const reason = String(e.data['reason']).slice(0, 200);
      acc[reason] = (acc[reason] ?? 0) + 1;
      return acc;
    }, {}),
    firstAttemptDevicesPerMinute: Math.round((firstAttempt.length / firstAttemptMs) * 60_000),
    rolloutS: Math.round(rolloutMs / 100) / 10,
    devicesPerMinute: Math.round((succeeded.length / rolloutMs) * 60_000),
    latencyS: { p50: round2(percentile(latencies, 50) / 1000), p99: round2(percentile(latencies, 99) / 1000) },
    perDistributor: distributors.map((d, i) => ({
      instance: d.name, owner: d.name === owner, driven: driven[i], cpuCores: perCore(cpuBefore[i]!, cpuSecondsOf(pids[i]!)),
      warnings: Object.fromEntries(d.warnings),
    })),
    benchCpuCores: perCore(selfBefore, selfCpuSeconds()),
    simulatorCpuCores: perCore(simulatorBefore, cpuSecondsOf(simulator!.proc.pid!)),
    natsCpuCores: natsBefore === undefined ? undefined : perCore(natsBefore, cpuSecondsOf(natsPid!)),
    postgresCpuCores: round2(postgresCpu / wallS),
    machineBusyCores: round2(((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * cpus().length),
    load: `${loadBefore} → ${machineLoad().replace('load average ', '')}`,
  };
  console.log(`${k} distributor process(es), ${DEVICES} devices: ${JSON.stringify(figures, null, 1)}\nsimulator: ${simulator!.lines.at(-1)}`);
  return figures;
}

const simulatorDeviceIds = () => Array.from({ length: DEVICES }, (_, i) => `${PREFIX}-${String(i + 1).padStart(3, '0')}`);

describe('distributor scaling: devices/min with more distributor processes', () => {
  for (const k of COUNTS) {
    it(`updates ${DEVICES} devices with a Direct rollout driven by ${k} distributor process(es), spreading the devices over them`, async () => {
      const distributors: Child[] = [];
      try {
        await startDistributors(k, distributors);
        if (simulator === undefined) {
          const onlineMs = await startFleet();
          console.log(`${DEVICES} devices Online after ${(onlineMs / 1000).toFixed(1)} s; ${machineLoad()}`);
        }
        const figures = await rollOut(k, distributors);
        results.push(figures);
        expect(figures.status).toBe('Succeeded');
        expect(figures.updated).toBe(DEVICES);
        // Every device was driven by exactly one of the instances (the ring splits them, nobody drops any).
        expect(figures.perDistributor.reduce((sum, d) => sum + (d.driven ?? 0), 0)).toBe(DEVICES);
      } finally {
        await Promise.all(distributors.map(stopChild));
      }
    }, TIMEOUT_MS + 5 * 60_000);
  }
});

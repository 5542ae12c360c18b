/**
 * The fleet benchmarks' stack: the embedded control plane (every service, gateway included) in the
 * bench process on a private nats-server (anonymous, JetStream) and PostgreSQL (a fresh schema on
 * DATABASE_URL) or PGlite (BENCH_DB=pglite), and `hotswap fleet simulate` in a child process of its
 * own, so the devices' CPU is not charged to the control plane's event loop. The child runs the
 * current sources, transpiled for it (test/e2e/support/compile-workspace.ts). Figures come from the distribution's events.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Streams, type DistributionStatusView } from '@hotswap/contracts';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '@hotswap/cli';
import { DEFAULT_EXECUTION_POLICY } from '@hotswap/distributor';
import { issueDevToken } from '@hotswap/gateway';
import {
  generateSigningKeyPair, JetStreamEventStore, LocalFileArtifactStore, PgDatabase, PgliteDatabase, type SqlDatabase, type StoredEvent,
} from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { compileSimulator } from '../../e2e/support/compile-workspace.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PG_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const JWT_SECRET = 'bench-fleet-jwt-secret';
export const FLEET_PREFIX = 'bench';

export interface ApiReply {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked by the benches
  readonly body: any;
}

export interface FleetStackOptions {
  readonly devices: number;
  /** Synthetic inferences per second on each device with a model (`--rate`). */
  readonly ratePerSec: number;
  readonly monitor?: ControlPlaneOptions['monitor'];
  readonly distributor?: ControlPlaneOptions['distributor'];
}

export interface FleetStack {
  readonly db: 'postgres' | 'pglite';
  readonly deviceIds: readonly string[];
  api(path: string, init?: RequestInit): Promise<ApiReply>;
  /** Uploads an ONNX model through the gateway and waits until the validator passed it. */
  uploadValidated(name: string, version: string, bytes: Buffer): Promise<string>;
  /** Starts the simulator and waits until the registry lists every device Online; returns the ms it took. */
  startFleet(): Promise<number>;
  /** The simulator's last status line (`online n/N | models … | swaps … | inferences … | RSS … MB`). */
  fleetStatus(): string;
  createDistribution(body: object): Promise<string>;
  waitForStatus(id: string, wanted: readonly DistributionStatusView['status'][], timeoutMs: number): Promise<DistributionStatusView>;
  events(distributionId: string): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

/** Load average (1 min) and the CPU count, for the record. */
export const machineLoad = (): string => `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;

export const intEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
};

/** Rollouts here: a swap report verifies a device unless the body sets `execution.healthWindow`. */
const DISTRIBUTOR: NonNullable<ControlPlaneOptions['distributor']> = {
  executionDefaults: { ...DEFAULT_EXECUTION_POLICY, healthWindowMs: 0, deviceTimeoutMs: 60_000, retryBackoffMs: 2_000 },
};

export async function startFleetStack(name: string, options: FleetStackOptions): Promise<FleetStack> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.warn(`cleanup: ${String(error)}`));
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), `bench-${name}-`));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const nats: NatsServer = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    const usePglite = process.env['BENCH_DB'] === 'pglite';
    let db: SqlDatabase;
    if (usePglite) {
      db = await PgliteDatabase.open();
      cleanups.push(() => db.close());
    } else {
      const schema = `bench_${name}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const pg = await PgDatabase.connect({ connectionString: PG_URL, schema });
      db = pg;
      cleanups.push(async () => {
        await pg.query(`DROP SCHEMA ${schema} CASCADE`);
        await pg.close();
      });
    }
    const simulator = await compileSimulator();
    cleanups.push(() => simulator.remove());
    const keys = generateSigningKeyPair();
    const publicKeyFile = join(dir, 'manifest.pub.pem');
    await writeFile(publicKeyFile, keys.publicKeyPem);
    const controlPlane: ControlPlane = await startControlPlane({
      natsUrl: nats.url,
      db,
      artifacts: new LocalFileArtifactStore({ rootDir: join(dir, 'artifacts') }),
      secrets: { jwtSecret: JWT_SECRET, urlSigningSecret: 'bench-url-secret', manifestPrivateKeyPem: keys.privateKeyPem },
      http: { host: '127.0.0.1', port: 0 },
      quiet: true,
      distributor: { ...DISTRIBUTOR, ...options.distributor },
      ...(options.monitor ? { monitor: options.monitor } : {}),
    });
    cleanups.push(() => controlPlane.close());
    const reader: NatsConnection = await connect({ servers: nats.url, name: 'bench-reader' });
    cleanups.push(() => reader.close());
    const eventStore = await JetStreamEventStore.fromConnection(reader);

    const api = async (path: string, init: RequestInit = {}): Promise<ApiReply> => {
      const token = await issueDevToken({ secret: JWT_SECRET, subject: 'bench-admin', roles: ['Admin'], ttlSeconds: 3600 });
      const res = await fetch(`${controlPlane.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const poll = async <T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs: number): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await read();
        if (done(value)) return value;
        if (Date.now() > deadline) throw new Error(`${what}: last seen ${JSON.stringify(value).slice(0, 500)}`);
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    };

    let child: ChildProcessByStdio<null, Readable, Readable> | undefined;
    let lastStatus = '';
    const stderrTail: string[] = [];
    const deviceIds = Array.from({ length: options.devices }, (_, i) => `${FLEET_PREFIX}-${String(i + 1).padStart(3, '0')}`);

    const startFleet = async () => {
      const started = Date.now();
      child = spawn(process.execPath, [
        '--import', simulator.register, simulator.entry,
        '--devices', String(options.devices), '--nats', nats.url, '--prefix', FLEET_PREFIX, '--rate', String(options.ratePerSec),
        '--data-dir', join(dir, 'fleet'), '--manifest-public-key', publicKeyFile, '--status-every', '2000', '--log-level', 'error',
      ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      const running = child;
      cleanups.push(async () => {
        if (running.exitCode !== null) return;
        const exited = new Promise((r) => running.once('exit', r));
        running.kill('SIGTERM');
        const timer = setTimeout(() => running.kill('SIGKILL'), 60_000);
        await exited;
        clearTimeout(timer);
      });
      running.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = chunk.trim().split('\n');
        lastStatus = lines.at(-1) ?? lastStatus;
      });
      running.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderrTail.push(...chunk.trim().split('\n'));
        stderrTail.splice(0, Math.max(0, stderrTail.length - 20));
      });
      running.once('exit', (code) => {
        if (code !== 0 && code !== null) console.warn(`the simulator exited with ${code}:\n${stderrTail.join('\n')}`);
      });
      let lastPrint = started;
      await poll(`${options.devices} devices did not come Online (simulator: ${lastStatus}; ${stderrTail.slice(-3).join(' | ')})`,
        async () => {
          // The gateway may drop a connection while the registry is swamped; the next poll retries.
          const reply = await api(`/api/v1/devices?tag=simulated&status=Online&limit=1`).catch((error: unknown): ApiReply => ({ status: 0, body: { error: String(error) } }));
          if (Date.now() - lastPrint > 30_000) {
            lastPrint = Date.now();
            console.log(`after ${Math.round((lastPrint - started) / 1000)} s: ${reply.body?.total} Online in the registry; simulator: ${lastStatus}; ${machineLoad()}`);
          }
          return reply;
        }, (r) => r.body?.total === options.devices,
        Math.max(120_000, options.devices * 200), 1_000);
      return Date.now() - started;
    };

    return {
      db: usePglite ? 'pglite' : 'postgres',
      deviceIds,
      api,
      uploadValidated: async (modelName, version, bytes) => {
        const form = new FormData();
        form.set('name', modelName);
        form.set('version', version);
        form.set('framework', 'onnx');
        form.set('checksum', createHash('sha256').update(bytes).digest('hex'));
        form.set('artifact', new Blob([new Uint8Array(bytes)]), `${modelName}.onnx`);
        const reply = await api('/api/v1/models', { method: 'POST', body: form });
        if (reply.status !== 202) throw new Error(`upload of ${modelName} ${version}: ${reply.status} ${JSON.stringify(reply.body)}`);
        const id = reply.body.id as string;
        const { body } = await poll(`model ${id} was not validated`, () => api(`/api/v1/models/${id}`),
          (r) => r.body?.status === 'Validated' || r.body?.status === 'Rejected', 60_000, 200);
        if (body.status !== 'Validated') throw new Error(`model ${id} is ${body.status}`);
        return id;
      },
      startFleet,
      fleetStatus: () => lastStatus,
      createDistribution: async (body) => {
        const reply = await api('/api/v1/distributions', { method: 'POST', body: JSON.stringify(body) });
        if (reply.status !== 202) throw new Error(`create distribution: ${reply.status} ${JSON.stringify(reply.body).slice(0, 500)}`);
        return reply.body.id as string;
      },
      waitForStatus: async (id, wanted, timeoutMs) =>
        (await poll(`distribution ${id} did not reach ${wanted.join('/')}`, () => api(`/api/v1/distributions/${id}/status`),
          (r) => wanted.includes(r.body?.status), timeoutMs, 1_000)).body as DistributionStatusView,
      events: (distributionId) => eventStore.readStream(Streams.distribution(distributionId)),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Percentile by nearest rank; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

/** The `at` of a distribution event, in ms since the epoch. */
export const eventAt = (event: StoredEvent): number => Date.parse(String(event.data['at']));

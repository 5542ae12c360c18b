/**
 * The whole control plane on real infrastructure for the e2e suites: its own nats-server, a fresh
 * PostgreSQL schema, a temp artifact store, and real edge agents; plus the HTTP helpers the
 * suites share (authenticated calls, multipart upload, waiting for verdicts and rollouts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DeviceStatus, DistributionStatusView, Role } from '@hotswap/contracts';
import { DEFAULT_EXECUTION_POLICY } from '@hotswap/distributor';
import { EdgeAgent, silentLogger, type EdgeAgentOptions } from '@hotswap/edge-agent';
import { issueDevToken } from '@hotswap/gateway';
import { generateSigningKeyPair, LocalFileArtifactStore, PgDatabase } from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '@hotswap/cli';

const PG_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const JWT_SECRET = 'e2e-jwt-secret';

export interface ApiReply {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions
  readonly body: any;
}

/** The HTTP side of a control plane, as the e2e suites drive it. */
export interface ControlPlaneClient {
  /** Authenticated as an Admin. */
  api(path: string, init?: RequestInit): Promise<ApiReply>;
  /** A bearer token for this gateway with `roles` (subject `e2e-<first role in lower case>` by default). */
  token(roles: readonly Role[], subject?: string): Promise<string>;
  upload(name: string, version: string, bytes: Buffer, framework?: string): Promise<ApiReply>;
  /** Distribution needs a validated model (the default): waits for the validator's verdict. */
  waitForValidated(modelId: string, timeoutMs?: number): Promise<void>;
  waitForStatus(id: string, wanted: readonly DistributionStatusView['status'][], timeoutMs?: number): Promise<DistributionStatusView>;
  /** Waits until `count` devices with `tag` (and `status`, if given) are in the fleet read model. */
  waitForDevices(tag: string, count: number, timeoutMs?: number, status?: DeviceStatus): Promise<void>;
}

export interface E2eStack extends ControlPlaneClient {
  readonly nats: NatsServer;
  readonly controlPlane: ControlPlane;
  readonly artifacts: LocalFileArtifactStore;
  readonly dataDir: string;
  /** An edge agent on this stack's NATS (not started); index 0 is in us-west-1, others eu-central-1. */
  makeAgent(deviceId: string, index: number, tag: string, overrides?: Partial<EdgeAgentOptions>): EdgeAgent;
  close(): Promise<void>;
}

async function poll<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: last seen ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The HTTP helpers for the gateway at `baseUrl`, whose tokens are signed with `jwtSecret`; `api` calls as Admin `adminSubject`. */
export function controlPlaneClient(baseUrl: string, jwtSecret: string, adminSubject = 'e2e-admin'): ControlPlaneClient {
  const api = async (path: string, init: RequestInit = {}): Promise<ApiReply> => {
    const token = await issueDevToken({ secret: jwtSecret, subject: adminSubject, roles: ['Admin'], ttlSeconds: 600 });
    const res = await fetch(`${baseUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  return {
    api,
    token: (roles, subject = `e2e-${(roles[0] ?? 'nobody').toLowerCase()}`) =>
      issueDevToken({ secret: jwtSecret, subject, roles, ttlSeconds: 600 }),
    upload: (modelName, version, bytes, framework = 'onnx') => {
      const form = new FormData();
      form.set('name', modelName);
      form.set('version', version);
      form.set('framework', framework);
      form.set('checksum', createHash('sha256').update(bytes).digest('hex'));
      form.set('artifact', new Blob([bytes]), `${modelName}.onnx`);
      return api('/api/v1/models', { method: 'POST', body: form });
    },
    waitForValidated: async (modelId, timeoutMs = 30_000) => {
      const { body } = await poll(`model ${modelId} was not Validated`, () => api(`/api/v1/models/${modelId}`),
        (r) => r.body?.status === 'Validated' || r.body?.status === 'Rejected', timeoutMs);
      if (body?.status !== 'Validated') throw new Error(`model ${modelId} is ${body?.status}, not Validated`);
    },
    waitForStatus: async (id, wanted, timeoutMs = 60_000) =>
      (await poll(`distribution ${id} did not reach ${wanted.join('/')}`, () => api(`/api/v1/distributions/${id}/status`),
        (r) => wanted.includes(r.body?.status), timeoutMs, 100)).body as DistributionStatusView,
    waitForDevices: async (tag, count, timeoutMs = 20_000, status) => {
      const query = status ? `tag=${tag}&status=${status}` : `tag=${tag}`;
      await poll(`${count} devices (${query}) did not register`, () => api(`/api/v1/devices?${query}`), (r) => r.body?.total === count, timeoutMs, 100);
    },
  };
}

/** What an agent answers for `x`: the add models answer `x + addend`, so this is the addend. */
export async function answer(agent: EdgeAgent, value = 0): Promise<number> {
  const result = await agent.infer({ x: new ort.Tensor('float32', Float32Array.from([value, value, value, value]), [1, 4]) });
  return (result.outputs['y']!.data as Float32Array)[0]! - value;
}

/**
 * Rollouts in the e2e suites: a fast conductor, and a swap report verifies a device unless a suite
 * asks for a health window (its own `execution.healthWindow`).
 */
export const E2E_DISTRIBUTOR: NonNullable<ControlPlaneOptions['distributor']> = {
  tickIntervalMs: 100,
  ownershipLeaseMs: 2_000,
  executionDefaults: { ...DEFAULT_EXECUTION_POLICY, healthWindowMs: 0, deviceTimeoutMs: 30_000, retryBackoffMs: 500 },
};

export async function startE2eStack(name: string, overrides: Pick<ControlPlaneOptions, 'validator' | 'distributor' | 'monitor'> = {}): Promise<E2eStack> {
  const schema = `e2e_${name}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const nats = await startNatsServer({ jetstream: true });
  const db = await PgDatabase.connect({ connectionString: PG_URL, schema });
  const dataDir = await mkdtemp(join(tmpdir(), `hotswap-e2e-${name}-`));
  const keys = generateSigningKeyPair();
  const artifacts = new LocalFileArtifactStore({ rootDir: join(dataDir, 'artifacts') });
  const controlPlane = await startControlPlane({
    natsUrl: nats.url,
    db,
    artifacts,
    secrets: { jwtSecret: JWT_SECRET, urlSigningSecret: 'e2e-url-secret', manifestPrivateKeyPem: keys.privateKeyPem },
    http: { host: '127.0.0.1', port: 0 },
    quiet: true,
    ...overrides,
    distributor: { ...E2E_DISTRIBUTOR, ...overrides.distributor },
  });
  const agents: EdgeAgent[] = [];

  return {
    ...controlPlaneClient(controlPlane.url, JWT_SECRET),
    nats, controlPlane, artifacts, dataDir,
    makeAgent: (deviceId, index, tag, overrides = {}) => {
      const agent = new EdgeAgent({
        deviceId, deviceType: 'edge-camera', region: index === 0 ? 'us-west-1' : 'eu-central-1',
        capabilities: { cpuCores: 2, gpu: false, memoryMb: 2048, storageMb: 8192 }, tags: [tag],
        natsServers: nats.url, dataDir: join(dataDir, 'devices', deviceId), manifestPublicKeyPem: keys.publicKeyPem,
        heartbeatIntervalMs: 200, telemetryIntervalMs: 500, graceMs: 50, logger: silentLogger, ...overrides,
      });
      agents.push(agent);
      return agent;
    },
    close: async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await controlPlane.close();
      await db.query(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
      await nats.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

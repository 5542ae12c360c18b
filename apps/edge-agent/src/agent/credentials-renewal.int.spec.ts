import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { DeviceSubjects, deviceIdOfSubject } from '@hotswap/contracts';
import {
  createNatsTrust, generateSigningKeyPair, mintDeviceCredentials, mintServiceCredentials, natsServerTrustConfig, type NatsTrust,
} from '@hotswap/infrastructure';
import { makeAddModel, startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { ArtifactServer } from '../testing/artifact-server.js';
import { ControlPlaneDouble } from '../testing/control-plane-double.js';
import { swapCommand } from '../testing/releases.js';
import { CREDENTIALS_FILE, credentialsLifetime } from './device-credentials.js';
import { EdgeAgent, InvalidAgentOptionsError } from './edge-agent.js';
import type { AgentLogger } from './logger.js';

/**
 * Credentials renewal on an operator-mode nats-server (as in production): the server closes a
 * connection when its user JWT expires, so an agent stays connected only by renewing in time.
 * Real time is used because the server checks the JWT's `exp` (whole seconds) on its own clock.
 */
const TTL_MS = 3_000;
const keys = generateSigningKeyPair();
const capabilities = { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 2048 };
let trust: NatsTrust;
let server: NatsServer;
let dir: string;
let artifacts: ArtifactServer;
let serviceAuth: { authenticator: ReturnType<typeof credsAuthenticator> };
const cleanups: Array<() => Promise<void>> = [];

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}
const capture = (into: LogLine[]): AgentLogger => ({
  debug: (message, fields) => into.push({ level: 'debug', message, fields }),
  info: (message, fields) => into.push({ level: 'info', message, fields }),
  warn: (message, fields) => into.push({ level: 'warn', message, fields }),
  error: (message, fields) => into.push({ level: 'error', message, fields }),
});

const mint = async (deviceId: string, ttlMs = TTL_MS) => (await mintDeviceCredentials(trust, deviceId, { expiresAt: new Date(Date.now() + ttlMs) })).creds;
const expiryOf = (creds: string) => credentialsLifetime(creds).expiresAtMs as number;
const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

/** Plays the device registry's `.credentials`: fresh short-lived credentials, refused once deregistered. */
function answerRenewals(nc: NatsConnection, deregistered: ReadonlySet<string>, issued: Map<string, string[]>) {
  return nc.subscribe(DeviceSubjects.all.credentials, {
    callback: (_err, msg) => void (async () => {
      const deviceId = deviceIdOfSubject(msg.subject) as string;
      if (deregistered.has(deviceId)) {
        msg.respond(JSON.stringify({ error: { code: 'NOT_FOUND', message: `device ${deviceId} was deregistered; its credentials are not renewed` } }));
        return;
      }
      const token = await mint(deviceId);
      issued.set(deviceId, [...(issued.get(deviceId) ?? []), token]);
      msg.respond(JSON.stringify({ token, inboxPrefix: `_INBOX_${deviceId}`, expiresAt: new Date(expiryOf(token)).toISOString() }));
    })(),
  });
}

beforeAll(async () => {
  trust = await createNatsTrust();
  dir = await mkdtemp(join(tmpdir(), 'hotswap-renew-'));
  await writeFile(join(dir, 'server.conf'), natsServerTrustConfig(trust));
  server = await startNatsServer({ jetstream: false, config: join(dir, 'server.conf') });
  serviceAuth = { authenticator: credsAuthenticator(new TextEncoder().encode((await mintServiceCredentials(trust, 'test-control-plane')).creds)) };
  artifacts = await ArtifactServer.start();
}, 30_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await artifacts?.stop();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function startDevice(deviceId: string, credentials: string, logs: LogLine[] = []) {
  const dataDir = await mkdtemp(join(dir, `${deviceId}-`));
  const cp = await ControlPlaneDouble.start(server.url, deviceId, serviceAuth);
  const agent = new EdgeAgent({
    deviceId, deviceType: 'edge-camera', region: 'us-west-1', capabilities, natsServers: server.url,
    natsOptions: { reconnectTimeWait: 100 }, credentials, dataDir, manifestPublicKeyPem: keys.publicKeyPem,
    heartbeatIntervalMs: 100, telemetryIntervalMs: 200, graceMs: 50, warmupRuns: 1, requestTimeoutMs: 500, retryMaxDelayMs: 200,
    logger: capture(logs),
  });
  cleanups.push(async () => {
    await agent.stop();
    await cp.stop();
  });
  return { agent, cp, dataDir };
}

describe('edge agent - NATS credentials renewal', () => {
  it('renews its short-lived credentials before they expire, stores them, and stays connected across several expiries', async () => {
    const issued = new Map<string, string[]>();
    const registry = await ControlPlaneDouble.start(server.url, 'unused', serviceAuth);
    cleanups.push(() => registry.stop());
    answerRenewals(registry.nc, new Set(), issued);
    const initial = await mint('renew-kept');
    const { agent, cp, dataDir } = await startDevice('renew-kept', initial);
    await agent.start();
    await agent.waitUntilOnline(5_000);

    // Past the initial credentials' expiry and two renewed ones' expiries.
    await cp.until(() => (issued.get('renew-kept')?.length ?? 0) >= 3, 15_000, 'three renewals');
    const renewed = issued.get('renew-kept') as string[];
    await sleepUntil(expiryOf(renewed[1]) + 300);

    expect(expiryOf(renewed[0])).toBeGreaterThan(expiryOf(initial));
    expect(expiryOf(renewed[1])).toBeGreaterThan(expiryOf(renewed[0]));
    await agent.waitUntilOnline(2_000);
    const heartbeatsBefore = cp.heartbeats.length;
    await cp.until(() => cp.heartbeats.length >= heartbeatsBefore + 3, 2_000, 'heartbeats after the expiries');
    const latest = (issued.get('renew-kept') as string[]).at(-1);
    expect(await readFile(join(dataDir, CREDENTIALS_FILE), 'utf8')).toBe(latest);
  }, 25_000);

  it('a deregistered device is refused renewal with the reason, is cut off at expiry, and keeps serving its model locally', async () => {
    const registry = await ControlPlaneDouble.start(server.url, 'unused', serviceAuth);
    cleanups.push(() => registry.stop());
    answerRenewals(registry.nc, new Set(['renew-gone']), new Map());
    const logs: LogLine[] = [];
    const initial = await mint('renew-gone', 4_000);
    const { agent, cp } = await startDevice('renew-gone', initial, logs);
    const artifact = makeAddModel({ addend: 1 });
    cp.desired = swapCommand({ name: 'adder', version: '1.0.0', artifact, artifactUrl: artifacts.put('renew-gone.onnx', artifact), privateKeyPem: keys.privateKeyPem });
    await agent.start();
    await agent.waitUntilOnline(5_000);
    expect(await cp.outcome(cp.desired.commandId)).toMatchObject({ phase: 'swapped' });

    await cp.until(() => logs.some((l) => l.level === 'error' && l.message.startsWith('NATS credentials renewal refused')), 5_000, 'the refusal');
    expect(logs.find((l) => l.message.startsWith('NATS credentials renewal refused'))?.fields).toMatchObject({
      reason: 'device renew-gone was deregistered; its credentials are not renewed', code: 'NOT_FOUND',
    });

    await sleepUntil(expiryOf(initial) + 500);
    await cp.until(() => !agent.online, 2_000, 'the device to go offline');
    const heartbeats = cp.heartbeats.length;
    const { modelId, outputs } = await agent.infer({ x: new ort.Tensor('float32', Float32Array.from([0, 1, 2, 3]), [1, 4]) });
    expect({ modelId, y: Array.from(outputs.y.data as Float32Array) }).toEqual({ modelId: 'adder-1.0.0', y: [1, 2, 3, 4] });
    await new Promise((r) => setTimeout(r, 500));
    expect(cp.heartbeats.length).toBe(heartbeats);
    expect(agent.online).toBe(false);
  }, 20_000);

  it('a restarted agent continues with the renewed credentials it stored, not the expired ones it was configured with', async () => {
    const issued = new Map<string, string[]>();
    const registry = await ControlPlaneDouble.start(server.url, 'unused', serviceAuth);
    cleanups.push(() => registry.stop());
    answerRenewals(registry.nc, new Set(), issued);
    const dataDir = await mkdtemp(join(dir, 'restart-'));
    const stored = await mint('renew-restart', 60_000);
    await writeFile(join(dataDir, CREDENTIALS_FILE), stored);
    const expired = await mint('renew-restart', 1_000);
    await sleepUntil(expiryOf(expired) + 100);
    const cp = await ControlPlaneDouble.start(server.url, 'renew-restart', serviceAuth);
    const agent = new EdgeAgent({
      deviceId: 'renew-restart', deviceType: 'edge-camera', region: 'us-west-1', capabilities, natsServers: server.url,
      credentials: expired, dataDir, manifestPublicKeyPem: keys.publicKeyPem, logger: capture([]),
    });
    cleanups.push(async () => {
      await agent.stop();
      await cp.stop();
    });
    await agent.start();
    await agent.waitUntilOnline(5_000);
    expect(cp.registrations).toHaveLength(1);
  }, 15_000);

  it('refuses credentials that are not a .creds text, and credentials together with an authenticator', async () => {
    const base = {
      deviceId: 'renew-bad', deviceType: 'edge-camera', region: 'us-west-1', capabilities, natsServers: server.url,
      dataDir: join(dir, 'renew-bad'), manifestPublicKeyPem: keys.publicKeyPem,
    };
    const bad = () => new EdgeAgent({ ...base, credentials: 'not creds' });
    expect(bad).toThrow(InvalidAgentOptionsError);
    expect(bad).toThrow('invalid credentials: credentials hold no NATS user JWT (expected the text of a .creds file)');
    const creds = await mint('renew-bad');
    expect(() => new EdgeAgent({ ...base, credentials: creds, natsOptions: serviceAuth })).toThrow('give either credentials or natsOptions.authenticator, not both');
  });
});

import { describe, it, expect, beforeAll, afterAll, afterEach } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Msg } from '@nats-io/transport-node';
import { DeviceSubjects, type SwapCommand, type SwapPhase } from '@hotswap/contracts';
import { generateSigningKeyPair } from '@hotswap/infrastructure';
import { makeAddModel, makeSlowModel, startNatsServer } from '@hotswap/infrastructure/testing';
import { ArtifactServer, type ArtifactFaults } from '../testing/artifact-server.js';
import { ControlPlaneDouble } from '../testing/control-plane-double.js';
import { swapCommand } from '../testing/releases.js';
import { EdgeAgent, InvalidAgentOptionsError } from './edge-agent.js';
import type { EdgeAgentOptions } from './edge-agent-options.js';
import { NoModelLoadedError } from './errors.js';
import { silentLogger } from './logger.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const UNREACHABLE_NATS = 'nats://127.0.0.1:1';
const keys = generateSigningKeyPair();
const V1 = makeAddModel({ addend: 1 });
const V2 = makeAddModel({ addend: 2 });
const V3 = makeAddModel({ addend: 3 });
const SUCCESS: SwapPhase[] = ['received', 'downloading', 'verifying', 'loading', 'warming', 'swapped'];
const capabilities = { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 2048 };
/** Swap timings seen in this run, printed when HOTSWAP_REPORT_TIMINGS is set. */
const measured: Array<{ test: string; totalMs?: number }> = [];

let artifacts: ArtifactServer;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  artifacts = await ArtifactServer.start();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await artifacts.stop();
  if (process.env.HOTSWAP_REPORT_TIMINGS) process.stderr.write(`${JSON.stringify(measured, null, 1)}\n`);
});

interface Device {
  readonly deviceId: string;
  readonly dataDir: string;
  readonly cp: ControlPlaneDouble;
  agent: EdgeAgent;
}

function agentOptions(deviceId: string, dataDir: string, overrides: Partial<EdgeAgentOptions> = {}): EdgeAgentOptions {
  return {
    deviceId,
    deviceType: 'edge-camera',
    region: 'us-west-1',
    capabilities,
    tags: ['test'],
    natsServers: NATS_URL,
    natsOptions: { reconnectTimeWait: 100 },
    dataDir,
    manifestPublicKeyPem: keys.publicKeyPem,
    heartbeatIntervalMs: 100,
    telemetryIntervalMs: 200,
    graceMs: 50,
    warmupRuns: 2,
    downloadRetries: 3,
    downloadBackoffBaseMs: 20,
    requestTimeoutMs: 500,
    retryMaxDelayMs: 200,
    logger: silentLogger,
    ...overrides,
  };
}

/** A running agent with its own device id, data dir and control-plane double. */
async function device(overrides: Partial<EdgeAgentOptions> = {}, natsUrl = NATS_URL): Promise<Device> {
  const deviceId = `ea-${randomUUID().slice(0, 13)}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'edge-agent-'));
  const cp = await ControlPlaneDouble.start(natsUrl, deviceId);
  const d: Device = { deviceId, dataDir, cp, agent: new EdgeAgent(agentOptions(deviceId, dataDir, { natsServers: natsUrl, ...overrides })) };
  cleanups.push(async () => {
    await d.agent.stop();
    await cp.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  await d.agent.start();
  await d.agent.waitUntilOnline(10_000);
  return d;
}

type ReleaseExtra = Pick<Parameters<typeof swapCommand>[0], 'manifest' | 'commandId' | 'rollback' | 'rollbackKeyPem'> & { faults?: ArtifactFaults; privateKeyPem?: string };

function release(d: Device, version: string, artifact: Buffer, extra: ReleaseExtra = {}): SwapCommand {
  const url = artifacts.put(`${d.deviceId}-${version}-${randomUUID().slice(0, 6)}.onnx`, artifact, extra.faults);
  return swapCommand({
    name: 'adder',
    version,
    artifact,
    artifactUrl: url,
    privateKeyPem: extra.privateKeyPem ?? keys.privateKeyPem,
    manifest: extra.manifest,
    commandId: extra.commandId,
    rollback: extra.rollback,
    rollbackKeyPem: extra.rollbackKeyPem,
  });
}

async function swap(d: Device, command: SwapCommand) {
  expect(await d.cp.command(command)).toEqual({ commandId: command.commandId, accepted: true });
  return d.cp.outcome(command.commandId);
}

async function swapTo(d: Device, version: string, artifact: Buffer): Promise<SwapCommand> {
  const command = release(d, version, artifact);
  const outcome = await swap(d, command);
  expect(outcome).toMatchObject({ phase: 'swapped' });
  return command;
}

function input(): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from([0, 1, 2, 3]), [1, 4]);
}

async function answer(agent: EdgeAgent): Promise<{ modelId: string; y: number[] }> {
  const { modelId, outputs } = await agent.infer({ x: input() });
  return { modelId, y: Array.from(outputs.y.data as Float32Array) };
}

describe('edge agent - swap protocol', () => {
  it('a swap command is acked, reported received → swapped with timings, and inference then answers x + 2', async () => {
    const d = await device();
    await expect(d.agent.infer({ x: input() })).rejects.toBeInstanceOf(NoModelLoadedError);
    await swapTo(d, '1.0.0', V1);
    expect(await answer(d.agent)).toEqual({ modelId: 'adder-1.0.0', y: [1, 2, 3, 4] });

    const command = release(d, '2.0.0', V2);
    const outcome = await swap(d, command);
    expect(d.cp.phasesFor(command.commandId)).toEqual(SUCCESS);
    expect(outcome).toMatchObject({ deviceId: d.deviceId, modelId: 'adder-2.0.0', phase: 'swapped' });
    const t = outcome.timings ?? {};
    for (const key of ['downloadMs', 'verifyMs', 'loadMs', 'warmupMs', 'activateMs', 'totalMs'] as const) expect(t[key]).toBeGreaterThanOrEqual(0);
    expect(t.totalMs).toBeGreaterThanOrEqual((t.downloadMs ?? 0) + (t.loadMs ?? 0));
    measured.push({ test: 'v1 → v2 swap', totalMs: t.totalMs });
    expect(await answer(d.agent)).toEqual({ modelId: 'adder-2.0.0', y: [2, 3, 4, 5] });
    expect(d.agent.activeModelId).toBe('adder-2.0.0');
    // Status reports carry a W3C traceparent.
    expect(d.cp.statuses.at(-1)?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('announces the device, then asks sync, and sends heartbeats naming the active model', async () => {
    const d = await device();
    expect(d.cp.registrations[0]?.body).toEqual({ deviceId: d.deviceId, deviceType: 'edge-camera', region: 'us-west-1', capabilities, tags: ['test'] });
    await d.cp.until(() => d.cp.syncs.length > 0, 5000, 'a sync request');
    expect(d.cp.syncs[0].body).toEqual({ deviceId: d.deviceId });
    await swapTo(d, '1.0.0', V1);
    await d.cp.until(() => d.cp.heartbeats.some((h) => h.body.activeModelId === 'adder-1.0.0'), 5000, 'a heartbeat naming v1');
    expect(d.cp.heartbeats[0].body).toMatchObject({ deviceId: d.deviceId, at: expect.any(String) });
  });

  it('publishes telemetry windows with count, errors and latency percentiles per model', async () => {
    const d = await device();
    await swapTo(d, '1.0.0', V1);
    for (let i = 0; i < 20; i++) await answer(d.agent);
    await expect(d.agent.infer({ wrong: input() })).rejects.toThrow('inference on model adder-1.0.0 failed');
    await d.cp.until(() => d.cp.telemetry.reduce((n, w) => n + w.body.count, 0) >= 21, 5000, 'telemetry for 21 inferences');
    const windows = d.cp.telemetry.map((w) => w.body);
    expect(windows.every((w) => w.modelId === 'adder-1.0.0' && w.deviceId === d.deviceId)).toBe(true);
    expect(windows.reduce((n, w) => n + w.errors, 0)).toBe(1);
    const w = windows.find((x) => x.count >= 10) ?? windows[0];
    expect(w.latencyMs.p50).toBeGreaterThanOrEqual(0);
    expect(w.latencyMs.p50).toBeLessThanOrEqual(w.latencyMs.p95);
    expect(w.latencyMs.p95).toBeLessThanOrEqual(w.latencyMs.p99);
  });
});

describe('edge agent - signing key rotation', () => {
  it('pinning the old and the new key, swaps to releases signed with either, and refuses a third', async () => {
    const next = generateSigningKeyPair();
    const d = await device({ manifestPublicKeyPem: `${keys.publicKeyPem}${next.publicKeyPem}` });
    await swapTo(d, '1.0.0', V1);
    expect(await swap(d, release(d, '2.0.0', V2, { privateKeyPem: next.privateKeyPem }))).toMatchObject({ phase: 'swapped' });
    expect(await swap(d, release(d, '3.0.0', V1, { privateKeyPem: generateSigningKeyPair().privateKeyPem }))).toMatchObject({
      phase: 'failed', reason: 'manifest rejected (bad-signature): manifest signature does not verify against any of the 2 pinned public keys',
    });
    expect((await answer(d.agent)).modelId).toBe('adder-2.0.0');
  });
});

describe('edge agent - failed swaps leave the old model serving', () => {
  const cases: Array<[string, (d: Device) => SwapCommand, RegExp]> = [
    [
      'a manifest signed with another key',
      (d) => release(d, '2.0.0', V2, { privateKeyPem: generateSigningKeyPair().privateKeyPem }),
      /^manifest rejected \(bad-signature\): manifest signature does not verify against the pinned public key$/,
    ],
    [
      'an expired manifest',
      (d) => release(d, '2.0.0', V2, { manifest: { expiresAt: '2020-01-01T00:00:00.000Z' } }),
      /^manifest rejected \(expired\): manifest expired at 2020-01-01T00:00:00.000Z$/,
    ],
    [
      'a manifest for another model',
      (d) => release(d, '2.0.0', V2, { manifest: { modelId: 'other-9.9.9' } }),
      /^manifest is for model other-9\.9\.9 but the command names adder-2\.0\.0$/,
    ],
    [
      'a checksum mismatch',
      (d) => release(d, '2.0.0', V2, { manifest: { sha256: 'f'.repeat(64) } }),
      /^checksum mismatch: expected sha256 f{64}, got [0-9a-f]{64}$/,
    ],
    [
      'an artifact shorter than the manifest says',
      (d) => release(d, '2.0.0', V2, { manifest: { sizeBytes: V2.length + 10 } }),
      new RegExp(`^size mismatch: artifact is ${V2.length} bytes, manifest says ${V2.length + 10}$`),
    ],
    [
      'an artifact larger than the manifest says (Content-Length)',
      (d) => release(d, '2.0.0', V2, { manifest: { sizeBytes: 40 } }),
      /^download failed: artifact is larger than the manifest's sizeBytes 40 \(server announced \d+ bytes\)$/,
    ],
    [
      'an artifact larger than the manifest says (chunked, cut off while streaming)',
      (d) => release(d, '2.0.0', V2, { manifest: { sizeBytes: 40 }, faults: { chunked: true } }),
      /^download failed: artifact is larger than the manifest's sizeBytes 40 \(received more than 40 bytes\)$/,
    ],
    [
      'a 404 artifact URL',
      (d) => ({ ...release(d, '2.0.0', V2), artifactUrl: `${artifacts.baseUrl}/artifacts/missing.onnx?sig=secret` }),
      /^download failed: HTTP 404 Not Found for http:\/\/127\.0\.0\.1:\d+\/artifacts\/missing\.onnx\?…$/,
    ],
    [
      'a server that keeps failing with 503',
      (d) => release(d, '2.0.0', V2, { faults: { status: 503 } }),
      /^download failed: download of .* failed after 4 attempts: HTTP 503 Service Unavailable/,
    ],
    [
      'an artifact that is not an ONNX model',
      (d) => release(d, '2.0.0', Buffer.from('definitely not a protobuf model')),
      /^model failed to load: /,
    ],
    [
      'a model that fails warm-up (it takes another input name)',
      (d) => release(d, '2.0.0', makeAddModel({ addend: 2, inputName: 'input' })),
      /^warm-up failed: the model takes inputs \[input\] but the device's applications send \[x\]$/,
    ],
    [
      'an older manifest (a rollback attack)',
      (d) => release(d, '0.9.0', V2),
      /^manifest rejected \(rollback\): adder 0\.9\.0 is a lower version than the active 1\.0\.0; going back needs a signed rollback instruction$/,
    ],
    [
      'an older manifest created before the active one',
      (d) => release(d, '2.0.0', V2, { manifest: { createdAt: '2020-01-01T00:00:00.000Z' } }),
      /^manifest rejected \(rollback\): adder-2\.0\.0 was created at 2020-01-01T00:00:00\.000Z, before the active adder-1\.0\.0 /,
    ],
    [
      'an older manifest with a forged rollback instruction',
      (d) => release(d, '0.9.0', V2, { rollback: true, rollbackKeyPem: generateSigningKeyPair().privateKeyPem }),
      /^rollback instruction rejected \(bad-signature\): rollback instruction signature does not verify against the pinned public key$/,
    ],
  ];

  it.each(cases)('%s fails with a precise reason', async (label, makeCommand, reason) => {
    const d = await device();
    await swapTo(d, '1.0.0', V1);
    const command = makeCommand(d);
    const outcome = await swap(d, command);
    expect(outcome.phase).toBe('failed');
    expect(outcome.reason).toMatch(reason);
    expect(outcome.timings?.totalMs).toBeGreaterThanOrEqual(0);
    expect(await answer(d.agent)).toEqual({ modelId: 'adder-1.0.0', y: [1, 2, 3, 4] });
    expect(d.agent.activeModelId).toBe('adder-1.0.0');
    // No half-downloaded or unverified file is left behind to be trusted later.
    const files = await readdir(join(d.dataDir, 'models', 'adder-2.0.0')).catch(() => [] as string[]);
    expect(files).not.toContain('model.onnx.part');
    // Only an artifact that verified stays (to be pruned by the next swap).
    if (!/not an ONNX model|warm-up/.test(label)) expect(files).not.toContain('model.onnx');
  });
});

describe('edge agent - commands', () => {
  it.each([
    ['bad JSON', '{"type":"swap",', /^malformed JSON: /, ''],
    ['a JSON array', '[1,2]', /^command must be a JSON object$/, ''],
    ['an unknown type', JSON.stringify({ type: 'reboot', commandId: 'c-1' }), /^unknown command type "reboot"; expected "swap"$/, 'c-1'],
    ['a missing type', JSON.stringify({ commandId: 'c-2' }), /^command type is missing; expected "swap"$/, 'c-2'],
    ['missing fields', JSON.stringify({ type: 'swap', commandId: 'c-3' }), /^invalid command: modelId: .*artifactUrl: .*release: .*issuedAt: /, 'c-3'],
    ['an unknown field', null, /^invalid command: evil: property evil should not exist/, 'c-4'],
    ['a path-unsafe model id', null, /^invalid command: modelId "\.\.\/etc" must match /, 'c-5'],
  ])('a command with %s is rejected with the reason, and the agent keeps serving', async (_label, payload, reason, commandId) => {
    const d = await device();
    await swapTo(d, '1.0.0', V1);
    let raw = payload;
    if (raw === null) {
      const valid = release(d, '2.0.0', V2, { commandId });
      raw = JSON.stringify(commandId === 'c-4' ? { ...valid, evil: true } : { ...valid, modelId: '../etc' });
    }
    const ack = await d.cp.command(raw);
    expect(ack).toEqual({ commandId, accepted: false, reason: expect.stringMatching(reason) });
    expect(await answer(d.agent)).toEqual({ modelId: 'adder-1.0.0', y: [1, 2, 3, 4] });
    // The agent still takes valid commands afterwards.
    await swapTo(d, '2.0.0', V2);
  });

  it('the same command twice is acked as duplicate and swaps once', async () => {
    const d = await device();
    await swapTo(d, '1.0.0', V1);
    const command = release(d, '2.0.0', V2);
    const acks = await Promise.all([d.cp.command(command), d.cp.command(command)]);
    expect(acks).toEqual(expect.arrayContaining([{ commandId: command.commandId, accepted: true }, { commandId: command.commandId, accepted: true, reason: 'duplicate' }]));
    await d.cp.outcome(command.commandId);
    expect(await d.cp.command(command)).toEqual({ commandId: command.commandId, accepted: true, reason: 'duplicate' });
    await d.agent.swapsIdle();
    expect(d.cp.phasesFor(command.commandId)).toEqual(SUCCESS);
    expect(artifacts.requests.filter((r) => command.artifactUrl.includes(r.path))).toHaveLength(1);
  });

  it('a command for the model already active reports swapped at once without reloading', async () => {
    const d = await device();
    const first = await swapTo(d, '1.0.0', V1);
    const again = { ...first, commandId: `cmd-${randomUUID()}` };
    const outcome = await swap(d, again);
    expect(outcome).toMatchObject({ phase: 'swapped', reason: 'already active' });
    expect(d.cp.phasesFor(again.commandId)).toEqual(['received', 'swapped']);
    expect(artifacts.requests.filter((r) => first.artifactUrl.includes(r.path))).toHaveLength(1);
  });

  it('runs one swap at a time; a newer command supersedes a queued one', async () => {
    const d = await device();
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const held = release(d, '1.0.0', V1, { faults: { gate } });
    const queued = release(d, '2.0.0', V2);
    const latest = release(d, '3.0.0', V3);
    await d.cp.command(held);
    await d.cp.until(() => d.cp.phasesFor(held.commandId).includes('downloading'), 5000, 'the first swap to download');
    await d.cp.command(queued);
    await d.cp.command(latest);
    expect(await d.cp.outcome(queued.commandId)).toMatchObject({ phase: 'failed', reason: `superseded by command ${latest.commandId}` });
    openGate();
    expect(await d.cp.outcome(held.commandId)).toMatchObject({ phase: 'swapped' });
    expect(await d.cp.outcome(latest.commandId)).toMatchObject({ phase: 'swapped' });
    expect(d.cp.phasesFor(queued.commandId)).toEqual(['failed']);
    expect((await answer(d.agent)).modelId).toBe('adder-3.0.0');
    // The swaps did not overlap: every report of the first precedes every report of the last.
    const order = d.cp.statuses.map((s) => s.body.commandId);
    expect(order.lastIndexOf(held.commandId)).toBeLessThan(order.indexOf(latest.commandId));
  });

  it('refuses to go back to an older model without a signed rollback instruction; with one, rolls back from disk without downloading', async () => {
    const d = await device();
    const v1 = await swapTo(d, '1.0.0', V1);
    await swapTo(d, '2.0.0', V2);
    await swapTo(d, '3.0.0', V3);
    const models = await readdir(join(d.dataDir, 'models'));
    expect(models.sort()).toEqual(['adder-2.0.0', 'adder-3.0.0']);
    const replayed = release(d, '2.0.0', V2);
    expect(await swap(d, replayed)).toMatchObject({ phase: 'failed', reason: expect.stringMatching(/^manifest rejected \(rollback\): adder 2\.0\.0 is a lower version than the active 3\.0\.0/) });
    expect((await answer(d.agent)).modelId).toBe('adder-3.0.0');
    const rollback = release(d, '2.0.0', V2, { rollback: true });
    const outcome = await swap(d, rollback);
    expect(outcome.phase).toBe('swapped');
    expect(artifacts.requests.filter((r) => rollback.artifactUrl.includes(r.path))).toHaveLength(0);
    expect(await answer(d.agent)).toEqual({ modelId: 'adder-2.0.0', y: [2, 3, 4, 5] });
    expect(v1.modelId).toBe('adder-1.0.0');
  });
});

describe('edge agent - hot swap under load', () => {
  it('serves every inference during a swap, switching from v1 to v2 exactly once per caller', async () => {
    const d = await device({ graceMs: 50 });
    await swapTo(d, '1.0.0', V1);
    let running = true;
    let failures = 0;
    let served = 0;
    const callers = Array.from({ length: 4 }, async () => {
      const seen: string[] = [];
      while (running) {
        try {
          const { modelId, y } = await answer(d.agent);
          expect(y[0]).toBe(modelId === 'adder-1.0.0' ? 1 : 2);
          seen.push(modelId);
          served++;
        } catch {
          failures++;
        }
        await new Promise((r) => setImmediate(r));
      }
      return seen;
    });
    await d.cp.until(() => served >= 20, 5000, 'the callers to be serving');
    const command = release(d, '2.0.0', V2);
    const outcome = await swap(d, command);
    measured.push({ test: 'swap under load', totalMs: outcome.timings?.totalMs });
    // Keep serving past the grace period, when the old session is released.
    const after = Date.now();
    await d.cp.until(() => Date.now() - after > 150, 5000);
    running = false;
    const sequences = await Promise.all(callers);
    expect(outcome.phase).toBe('swapped');
    expect(failures).toBe(0);
    for (const seen of sequences) {
      const switches = seen.filter((m, i) => i > 0 && m !== seen[i - 1]);
      expect(seen[0]).toBe('adder-1.0.0');
      expect(seen.at(-1)).toBe('adder-2.0.0');
      expect(switches).toEqual(['adder-2.0.0']);
    }
  });
});

describe('edge agent - loading off the serving path', () => {
  it('keeps the event loop responsive while a large model loads and warms on its own thread', async () => {
    const d = await device({ warmupRuns: 20 });
    const width = 2048; // a 16 MiB initializer: a load that would stall a thread for a while
    const big = makeSlowModel({ addend: 1, size: width, depth: 8 });
    await swapTo(d, '1.0.0', makeSlowModel({ addend: 0, size: width, depth: 1 }));
    let last = performance.now();
    let maxGapMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
    }, 1);
    try {
      const outcome = await swap(d, release(d, '2.0.0', big));
      expect(outcome.phase).toBe('swapped');
      const busyMs = (outcome.timings?.loadMs ?? 0) + (outcome.timings?.warmupMs ?? 0);
      measured.push({ test: `event-loop gap (ms) while loading+warming 16 MiB for ${busyMs} ms`, totalMs: maxGapMs });
      // Loading and warming took far longer than the longest pause of the serving thread (relative:
      // absolute pauses depend on the machine's load; the swap bench measures them).
      expect(busyMs).toBeGreaterThan(2 * maxGapMs);
    } finally {
      clearInterval(ticker);
    }
  });
});

describe('edge agent - downloads', () => {
  it('resumes a download cut off half way with a Range request', async () => {
    const d = await device();
    const big = makeSlowModel({ addend: 1, size: 128, depth: 2 });
    const half = Math.floor(big.length / 2);
    const command = release(d, '1.0.0', big, { faults: { cutAfterBytes: half } });
    const outcome = await swap(d, command);
    expect(outcome.phase).toBe('swapped');
    const served = artifacts.requests.filter((r) => command.artifactUrl.includes(r.path));
    expect(served).toEqual([
      { path: expect.any(String), range: undefined, status: 200 },
      { path: expect.any(String), range: `bytes=${half}-`, status: 206 },
    ]);
    const x = new ort.Tensor('float32', new Float32Array(128).fill(1), [1, 128]);
    const { outputs } = await d.agent.infer({ x });
    expect((outputs.y.data as Float32Array)[0]).toBe(2);
  });
});

describe('edge agent - restarts and sync', () => {
  it('a restarted agent serves its last good model before connecting', async () => {
    const d = await device();
    await swapTo(d, '1.0.0', V1);
    await swapTo(d, '2.0.0', V2);
    await d.agent.stop();
    const offline = new EdgeAgent(agentOptions(d.deviceId, d.dataDir, { natsServers: UNREACHABLE_NATS }));
    d.agent = offline;
    await offline.start();
    expect(offline.online).toBe(false);
    expect(await answer(offline)).toEqual({ modelId: 'adder-2.0.0', y: [2, 3, 4, 5] });
  });

  it('falls back to the previous model when the active artifact on disk is corrupt', async () => {
    const d = await device();
    await swapTo(d, '1.0.0', V1);
    await swapTo(d, '2.0.0', V2);
    await d.agent.stop();
    await writeFile(join(d.dataDir, 'models', 'adder-2.0.0', 'model.onnx'), 'garbage');
    d.agent = new EdgeAgent(agentOptions(d.deviceId, d.dataDir, { natsServers: UNREACHABLE_NATS }));
    await d.agent.start();
    expect(await answer(d.agent)).toEqual({ modelId: 'adder-1.0.0', y: [1, 2, 3, 4] });
    const state = JSON.parse(await readFile(join(d.dataDir, 'state.json'), 'utf8')) as { active: { modelId: string } };
    expect(state.active.modelId).toBe('adder-1.0.0');
  });

  it('starts without a model when the state file is unreadable', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'edge-agent-'));
    await writeFile(join(dataDir, 'state.json'), '{not json');
    const agent = new EdgeAgent(agentOptions(`ea-${randomUUID().slice(0, 13)}`, dataDir, { natsServers: UNREACHABLE_NATS }));
    cleanups.push(async () => {
      await agent.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    await agent.start();
    expect(agent.activeModelId).toBeUndefined();
  });

  it('sync on start converges to the desired model', async () => {
    const deviceId = `ea-${randomUUID().slice(0, 13)}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'edge-agent-'));
    const cp = await ControlPlaneDouble.start(NATS_URL, deviceId);
    const desired = swapCommand({ name: 'adder', version: '2.0.0', artifact: V2, artifactUrl: artifacts.put(`${deviceId}-sync.onnx`, V2), privateKeyPem: keys.privateKeyPem });
    cp.desired = desired;
    const agent = new EdgeAgent(agentOptions(deviceId, dataDir));
    cleanups.push(async () => {
      await agent.stop();
      await cp.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    await agent.start();
    const outcome = await cp.outcome(desired.commandId);
    expect(outcome).toMatchObject({ phase: 'swapped', modelId: 'adder-2.0.0' });
    expect(cp.phasesFor(desired.commandId)).toEqual(SUCCESS);
    expect(await answer(agent)).toEqual({ modelId: 'adder-2.0.0', y: [2, 3, 4, 5] });
  });

  it.each([
    ['an invalid desired command', { desired: { type: 'swap', commandId: 'x' } }, /^invalid desired command: modelId: /],
    ['a reply without desired', { wanted: null }, /^expected \{ desired \}$/],
  ])('ignores a sync reply with %s, logging why', async (_label, reply, reason) => {
    const deviceId = `ea-${randomUUID().slice(0, 13)}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'edge-agent-'));
    const cp = await ControlPlaneDouble.start(NATS_URL, deviceId);
    cp.syncReply = () => reply;
    const warnings: Array<{ message: string; reason?: unknown }> = [];
    const logger = { ...silentLogger, warn: (message: string, fields?: Record<string, unknown>) => warnings.push({ message, reason: fields?.reason }) };
    const agent = new EdgeAgent(agentOptions(deviceId, dataDir, { logger }));
    cleanups.push(async () => {
      await agent.stop();
      await cp.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    await agent.start();
    await cp.until(() => warnings.some((w) => w.message.startsWith('ignoring')), 5000, 'the sync reply to be refused');
    expect(warnings.find((w) => w.message.startsWith('ignoring'))?.reason).toMatch(reason);
    expect(agent.activeModelId).toBeUndefined();
    expect(cp.statuses).toEqual([]);
  });

  it('asks sync again after a reconnect and converges to what changed while it was away', async () => {
    const nats = await startNatsServer({ jetstream: false });
    cleanups.push(() => nats.stop());
    const d = await device({}, nats.url);
    await swapTo(d, '1.0.0', V1);
    const syncsBefore = d.cp.syncs.length;
    d.cp.desired = release(d, '2.0.0', V2);
    await nats.kill();
    await d.cp.until(() => !d.agent.online, 10_000, 'the agent to notice the outage');
    await nats.restart();
    const outcome = await d.cp.outcome(d.cp.desired.commandId, 20_000);
    expect(outcome.phase).toBe('swapped');
    expect(d.cp.syncs.length).toBeGreaterThan(syncsBefore);
    expect(d.cp.syncs.at(-1)?.body).toEqual({ deviceId: d.deviceId, activeModelId: 'adder-1.0.0' });
    expect(await answer(d.agent)).toEqual({ modelId: 'adder-2.0.0', y: [2, 3, 4, 5] });
  });

  it("repeats a command's outcome when sync names the model already serving, so a lost report is recovered", async () => {
    const d = await device();
    const command = await swapTo(d, '1.0.0', V1);
    d.cp.desired = command;
    const before = d.cp.reportsFor(command.commandId).length;
    await d.agent.stop();
    // A fresh agent has no memory of the command: it reports the model as already active.
    d.agent = new EdgeAgent(agentOptions(d.deviceId, d.dataDir));
    await d.agent.start();
    await d.cp.until(() => d.cp.reportsFor(command.commandId).length > before, 10_000, 'the outcome to be repeated');
    expect(d.cp.reportsFor(command.commandId).at(-1)).toMatchObject({ phase: 'swapped', modelId: 'adder-1.0.0', reason: 'already active' });
    expect(await answer(d.agent)).toEqual({ modelId: 'adder-1.0.0', y: [1, 2, 3, 4] });
  });

  it('repeats the recorded outcome, timings included, when it still remembers the command', async () => {
    const nats = await startNatsServer({ jetstream: false });
    cleanups.push(() => nats.stop());
    const d = await device({}, nats.url);
    const command = await swapTo(d, '1.0.0', V1);
    const original = d.cp.reportsFor(command.commandId).find((r) => r.phase === 'swapped');
    d.cp.desired = command;
    await nats.kill();
    await d.cp.until(() => !d.agent.online, 10_000, 'the agent to notice the outage');
    await nats.restart();
    await d.cp.until(() => d.cp.reportsFor(command.commandId).filter((r) => r.phase === 'swapped').length > 1, 20_000, 'the outcome to be repeated');
    expect(d.cp.reportsFor(command.commandId).filter((r) => r.phase === 'swapped').at(-1)?.timings).toEqual(original?.timings);
  });

  it('keeps retrying registration until the control plane answers', async () => {
    const deviceId = `ea-${randomUUID().slice(0, 13)}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'edge-agent-'));
    const cp = await ControlPlaneDouble.start(NATS_URL, deviceId);
    cp.answering = false;
    const agent = new EdgeAgent(agentOptions(deviceId, dataDir, { requestTimeoutMs: 100 }));
    cleanups.push(async () => {
      await agent.stop();
      await cp.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    await agent.start();
    await cp.until(() => cp.unanswered >= 2, 10_000, 'two unanswered registrations');
    expect(agent.online).toBe(false);
    cp.answering = true;
    await agent.waitUntilOnline(10_000);
    expect(cp.registrations.length).toBeGreaterThanOrEqual(1);
    await cp.until(() => cp.syncs.length > 0, 5000, 'a sync after registering');
  });

  /** An agent whose `.register` requests `answer` decides (the control-plane double answers none itself). */
  async function agentAgainstRegistry(answer: (msg: Msg) => void, overrides: Partial<EdgeAgentOptions>): Promise<EdgeAgent> {
    const deviceId = `ea-${randomUUID().slice(0, 13)}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'edge-agent-'));
    const cp = await ControlPlaneDouble.start(NATS_URL, deviceId);
    cp.answering = false;
    cp.nc.subscribe(DeviceSubjects.register(deviceId), { callback: (_e, msg) => answer(msg) });
    await cp.nc.flush();
    const agent = new EdgeAgent(agentOptions(deviceId, dataDir, overrides));
    cleanups.push(async () => {
      await agent.stop();
      await cp.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    await agent.start();
    return agent;
  }

  it('waits longer for each registration attempt, so a registry answering late still gets through', async () => {
    // A registry working through a burst: every answer comes 300 ms after the request.
    const attempts: number[] = [];
    const agent = await agentAgainstRegistry((msg) => {
      attempts.push(performance.now());
      setTimeout(() => msg.respond(JSON.stringify({ accepted: true })), 300);
    }, { requestTimeoutMs: 100, retryMaxDelayMs: 20 });
    await agent.waitUntilOnline(10_000);
    // 100 ms, 200 ms, then 400 ms: the third attempt outlasts the delay (a fourth only on a stalled machine).
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.length).toBeLessThanOrEqual(4);
  });

  it('asks again when the registry answers that it is busy, quietly, and is online once it is registered', async () => {
    // A registry shedding a fleet-wide burst: the first two answers are UNAVAILABLE, then it registers.
    const answers: string[] = [];
    const lines: Array<{ level: string; message: string }> = [];
    const logger = {
      debug: (message: string) => void lines.push({ level: 'debug', message }),
      info: (message: string) => void lines.push({ level: 'info', message }),
      warn: (message: string) => void lines.push({ level: 'warn', message }),
      error: (message: string) => void lines.push({ level: 'error', message }),
    };
    const agent = await agentAgainstRegistry((msg) => {
      const busy = answers.length < 2;
      answers.push(busy ? 'busy' : 'accepted');
      msg.respond(JSON.stringify(busy ? { error: { code: 'UNAVAILABLE', message: 'busy: 1000 messages are waiting' } } : { accepted: true }));
    }, { requestTimeoutMs: 1000, retryMaxDelayMs: 20, logger });
    await agent.waitUntilOnline(10_000);
    expect(answers).toEqual(['busy', 'busy', 'accepted']);
    // Flow control, not a fault: no warning a whole fleet would forward to the central log.
    expect(lines.filter((l) => l.message === 'registry busy; registering again').map((l) => l.level)).toEqual(['debug', 'debug']);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it('stops promptly while registration is unanswered', async () => {
    const deviceId = `ea-${randomUUID().slice(0, 13)}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'edge-agent-'));
    const cp = await ControlPlaneDouble.start(NATS_URL, deviceId);
    cp.answering = false;
    const agent = new EdgeAgent(agentOptions(deviceId, dataDir, { requestTimeoutMs: 10_000 }));
    cleanups.push(async () => {
      await cp.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    await agent.start();
    await cp.until(() => cp.unanswered >= 1, 10_000, 'a registration request');
    const started = performance.now();
    await agent.stop();
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('stops promptly while its NATS server is gone (nothing to drain into)', async () => {
    const nats = await startNatsServer({ jetstream: false });
    cleanups.push(() => nats.stop());
    const d = await device({}, nats.url);
    await swapTo(d, '1.0.0', V1);
    await nats.kill();
    await d.cp.until(() => !d.agent.online, 10_000, 'the agent to notice the outage');
    const started = performance.now();
    await d.agent.stop();
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('a swap cut short by stop() is reported failed, and the old model stays on disk', async () => {
    const d = await device();
    await swapTo(d, '1.0.0', V1);
    const held = release(d, '2.0.0', V2, { faults: { gate: new Promise(() => undefined) } });
    await d.cp.command(held);
    await d.cp.until(() => d.cp.phasesFor(held.commandId).includes('downloading'), 5000, 'the download to start');
    await d.agent.stop();
    await d.cp.until(() => d.cp.phasesFor(held.commandId).includes('failed'), 5000, 'the failed report');
    expect(d.cp.reportsFor(held.commandId).at(-1)).toMatchObject({ phase: 'failed', reason: 'the agent is stopping' });
    d.agent = new EdgeAgent(agentOptions(d.deviceId, d.dataDir, { natsServers: UNREACHABLE_NATS }));
    await d.agent.start();
    expect((await answer(d.agent)).modelId).toBe('adder-1.0.0');
  });
});

describe('edge agent - disk space', () => {
  it('refuses a download that would eat into the disk reserve, and keeps serving the old model', async () => {
    const d = await device();
    await swapTo(d, '1.0.0', V1);
    // The same device restarted with a reserve larger than any disk: every download is too big.
    await d.agent.stop();
    const restored = new EdgeAgent(agentOptions(d.deviceId, d.dataDir, { diskReserveBytes: Number.MAX_SAFE_INTEGER }));
    d.agent = restored;
    await restored.start();
    await restored.waitUntilOnline(10_000);
    const command = release(d, '2.0.0', V2);
    const outcome = await swap(d, command);
    expect(outcome).toMatchObject({ phase: 'failed', reason: `download failed: insufficient disk space: ${V2.length} bytes needed, 0 free` });
    expect(artifacts.requests.filter((r) => command.artifactUrl.includes(r.path))).toEqual([]);
    expect(await answer(restored)).toEqual({ modelId: 'adder-1.0.0', y: [1, 2, 3, 4] });
  });
});

describe('edge agent - POST /infer for the device\'s applications', () => {
  async function post(url: string, body: unknown, raw = false) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ? (body as string) : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const x = (data: unknown[] = [0, 1, 2, 3], dims: unknown = [1, 4], type: unknown = 'float32') => ({ type, dims, data });

  it('answers with the outputs and the model that answered, 503 before any model, and counts labels for accuracy', async () => {
    const d = await device({ inferencePort: 0, telemetryIntervalMs: 100 });
    const url = d.agent.inferenceUrl as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/infer$/);
    expect(await post(url, { inputs: { x: x() } })).toEqual({
      status: 503,
      body: { statusCode: 503, error: 'Service Unavailable', message: `device ${d.deviceId} has no active model` },
    });
    await swapTo(d, '1.0.0', V1);
    const ok = await post(url, { inputs: { x: x() }, label: [1, 2, 3, 4] });
    expect(ok).toEqual({
      status: 200,
      body: { modelId: 'adder-1.0.0', name: 'adder', version: '1.0.0', outputs: { y: { type: 'float32', dims: [1, 4], data: [1, 2, 3, 4] } }, latencyMs: expect.any(Number), correct: true },
    });
    // Label as class index: argmax of [1, 2, 3, 4] is 3.
    expect((await post(url, { inputs: { x: x() }, label: 0 })).body.correct).toBe(false);
    expect((await post(url, { inputs: { x: x() }, label: 3 })).body.correct).toBe(true);
    // Windows close every 100 ms, so the three may land in one window or be split over several.
    const windows = () => d.cp.telemetry.map((w) => w.body).filter((w) => w.modelId === 'adder-1.0.0' && w.count > 0);
    const sum = (f: (w: ReturnType<typeof windows>[number]) => number) => windows().reduce((n, w) => n + f(w), 0);
    await d.cp.until(() => sum((w) => w.labelled ?? 0) === 3, 5000, 'telemetry windows with 3 labelled inferences');
    expect({ count: sum((w) => w.count), errors: sum((w) => w.errors), correct: Math.round(sum((w) => (w.accuracy ?? 0) * (w.labelled ?? 0))) }).toEqual({ count: 3, errors: 0, correct: 2 });
    expect(sum((w) => w.histogram?.counts.reduce((a, b) => a + b, 0) ?? 0)).toBe(3);
    for (const w of windows()) expect(w.histogram?.boundsMs.length).toBe((w.histogram?.counts.length ?? 0) - 1);
  });

  it.each([
    ['bad JSON', '{"inputs":', 'malformed JSON: '],
    ['an unknown input name', { inputs: { z: x() } }, 'unknown input z; the model\'s inputs are x'],
    ['a missing input', { inputs: {} }, 'missing input x; the model\'s inputs are x'],
    ['data of the wrong length', { inputs: { x: x([1, 2, 3]) } }, 'inputs.x.data has 3 values; dims [1, 4] need 4'],
    ['dims the model does not take', { inputs: { x: x([1, 2, 3], [1, 3]) } }, 'inputs.x.dims[1] is 3; the model expects 4 ([1, 4])'],
    ['the wrong element type', { inputs: { x: x(undefined, undefined, 'int32') } }, 'inputs.x.type must be float32, got "int32"'],
    ['a non-numeric value', { inputs: { x: x([1, 'a', 3, 4]) } }, 'inputs.x.data[1] must be a finite number'],
    ['a bad label', { inputs: { x: x() }, label: 'cat' }, 'label must be a number (expected class index or value) or a non-empty array of numbers (expected values)'],
    ['an unknown field', { inputs: { x: x() }, extra: 1 }, 'unknown field extra; expected inputs and optional label'],
  ])('answers 400 naming the problem for %s, and keeps serving', async (_label, body, message) => {
    const d = await device({ inferencePort: 0 });
    await swapTo(d, '1.0.0', V1);
    const url = d.agent.inferenceUrl as string;
    const res = await post(url, body, typeof body === 'string');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(String(res.body.message).startsWith(message)).toBe(true);
    expect((await post(url, { inputs: { x: x() } })).status).toBe(200);
  });

  it('answers 404 for another path, 405 for another method, 413 for a body that is too large', async () => {
    const d = await device({ inferencePort: 0 });
    const url = d.agent.inferenceUrl as string;
    expect((await fetch(url.replace('/infer', '/other'), { method: 'POST' })).status).toBe(404);
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const huge = await fetch(url, { method: 'POST', body: Buffer.alloc(17 * 1024 * 1024, 32) }).catch((err: Error) => err);
    // The server answers 413 and drops the connection; the client may see either.
    if (!(huge instanceof Error)) expect(huge.status).toBe(413);
  });

  it('refuses an inference port that is not a port', () => {
    expect(() => new EdgeAgent(agentOptions('ea-port', '/tmp/unused', { inferencePort: 70_000 }))).toThrow('inferencePort must be an integer in 0..65535, got 70000');
  });
});

describe('edge agent - options', () => {
  it.each([
    [{ deviceId: 'has.dot' }, /deviceId: deviceId must match/],
    [{ capabilities: { cpuCores: 0, gpu: false, memoryMb: 1, storageMb: 1 } }, /capabilities\.cpuCores: cpuCores must not be less than 1/],
    [{ manifestPublicKeyPem: 'nope' }, /^invalid manifestPublicKeyPem: the public key is not a valid PEM key/],
    [{ graceMs: -1 }, /^graceMs must be a number >= 0, got -1$/],
  ])('refuses bad options %j', (override, message) => {
    expect(() => new EdgeAgent(agentOptions('ea-opts', '/tmp/unused', override as Partial<EdgeAgentOptions>))).toThrow(InvalidAgentOptionsError);
    expect(() => new EdgeAgent(agentOptions('ea-opts', '/tmp/unused', override as Partial<EdgeAgentOptions>))).toThrow(message);
  });

  it('cannot be started twice, and stop is idempotent', async () => {
    const d = await device();
    await expect(d.agent.start()).rejects.toThrow(`edge agent ${d.deviceId} was already started`);
    await d.agent.stop();
    await d.agent.stop();
    expect(d.agent.online).toBe(false);
  });
});

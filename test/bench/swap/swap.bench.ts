/**
 * One device serving 500 inferences/s while it hot-swaps 10 times between ~1 MB models.
 * Reports swap latency (command received → new model serving, as the device reports it), dropped
 * inferences, and inference latency in steady state and while a swap is in progress.
 * Needs NATS on 127.0.0.1:4222 (NATS_URL overrides). Run: `npm run bench -- swap`.
 */
import { describe, it, expect, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as ort from 'onnxruntime-node';
import { EdgeAgent, silentLogger } from '@hotswap/edge-agent';
import { generateSigningKeyPair } from '@hotswap/infrastructure';
import { makeSlowModel } from '@hotswap/infrastructure/testing';
import { ControlPlaneDouble } from '../../../apps/edge-agent/src/testing/control-plane-double.js';
import { swapCommand } from '../../../apps/edge-agent/src/testing/releases.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const RATE_PER_SEC = 500;
const SWAPS = 10;
const WIDTH = 512; // one 512×512 float32 initializer: 1 MiB per model
const STEADY_MS = 3000;
const PAUSE_BETWEEN_SWAPS_MS = 500;

/**
 * The artifact store runs in its own process, as it would for a real device: serving the bytes
 * must not be charged to the device's threads.
 */
const FILE_SERVER = `
const { createServer } = require('node:http');
const { createReadStream, statSync } = require('node:fs');
const { join, basename } = require('node:path');
const dir = process.argv[1];
const server = createServer((req, res) => {
  const file = join(dir, basename(new URL(req.url, 'http://x').pathname));
  let size;
  try { size = statSync(file).size; } catch { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  createReadStream(file).pipe(res);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startFileServer(dir: string): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', FILE_SERVER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`file server exited with ${code}`)));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function pct(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}
const round = (v: number) => Math.round(v * 100) / 100;

interface Sample {
  readonly start: number;
  readonly end: number;
  readonly ok: boolean;
}

describe('swap benchmark', () => {
  it(`serves ${RATE_PER_SEC} inferences/s through ${SWAPS} hot swaps of ~1 MB models`, async () => {
    const keys = generateSigningKeyPair();
    const deviceId = `bench-swap-${randomUUID().slice(0, 8)}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-swap-'));
    const artifactDir = await mkdtemp(join(tmpdir(), 'bench-swap-artifacts-'));
    const artifacts = await startFileServer(artifactDir);
    const cp = await ControlPlaneDouble.start(NATS_URL, deviceId);
    const agent = new EdgeAgent({
      deviceId,
      deviceType: 'edge-gateway',
      region: 'bench',
      capabilities: { cpuCores: 2, gpu: false, memoryMb: 2048, storageMb: 4096 },
      natsServers: NATS_URL,
      dataDir,
      manifestPublicKeyPem: keys.publicKeyPem,
      telemetryIntervalMs: 60_000,
      sessionOptions: { intraOpNumThreads: 1 },
      logger: silentLogger,
    });
    cleanups.push(async () => {
      await agent.stop();
      await cp.stop();
      await artifacts.stop();
      await rm(dataDir, { recursive: true, force: true });
      await rm(artifactDir, { recursive: true, force: true });
    });
    await agent.start();
    await agent.waitUntilOnline();

    // Two architectures (2 and 3 chained MatMuls over a 1 MiB matrix), a new addend per version.
    const models = Array.from({ length: SWAPS + 1 }, (_, i) => makeSlowModel({ size: WIDTH, depth: 2 + (i % 2), addend: i + 1 }));
    await Promise.all(models.map((m, i) => writeFile(join(artifactDir, `bench-${i}.onnx`), m)));
    const commandFor = (i: number) =>
      swapCommand({ name: 'bench', version: `${i + 1}.0.0`, artifact: models[i], artifactUrl: `${artifacts.baseUrl}/bench-${i}.onnx`, privateKeyPem: keys.privateKeyPem });
    const first = commandFor(0);
    await cp.command(first);
    expect(await cp.outcome(first.commandId)).toMatchObject({ phase: 'swapped' });

    // Open-loop load: every 10 ms, start the inferences due since the start.
    const samples: Sample[] = [];
    const pending = new Set<Promise<void>>();
    const input = Float32Array.from({ length: WIDTH }, (_, i) => i / WIDTH);
    let issued = 0;
    const loadStart = performance.now();
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - loadStart) * RATE_PER_SEC) / 1000) - issued;
      for (let k = 0; k < due; k++) {
        issued++;
        const start = performance.now();
        const p = agent
          .infer({ x: new ort.Tensor('float32', input.slice(), [1, WIDTH]) })
          .then(
            () => samples.push({ start, end: performance.now(), ok: true }),
            () => samples.push({ start, end: performance.now(), ok: false }),
          )
          .then(() => {
            pending.delete(p);
          });
        pending.add(p);
      }
    }, 10);

    // Pauses of the serving (main) thread, in ms, with the time they ended.
    const gaps: Array<{ at: number; ms: number }> = [];
    let lastTick = performance.now();
    const gapTimer = setInterval(() => {
      const now = performance.now();
      if (now - lastTick > 2) gaps.push({ at: now, ms: now - lastTick });
      lastTick = now;
    }, 1);

    await sleep(STEADY_MS);
    const steadyEnd = performance.now();
    const windows: Array<{ start: number; end: number }> = [];
    const swapMs: number[] = [];
    const phases: Record<string, number[]> = {};
    const observedMs: number[] = [];
    for (let i = 1; i <= SWAPS; i++) {
      const command = commandFor(i);
      const start = performance.now();
      await cp.command(command);
      const outcome = await cp.outcome(command.commandId, 30_000);
      const end = performance.now();
      expect(outcome.phase).toBe('swapped');
      windows.push({ start, end });
      swapMs.push(outcome.timings?.totalMs ?? NaN);
      for (const [k, v] of Object.entries(outcome.timings ?? {})) (phases[k] ??= []).push(v);
      observedMs.push(end - start);
      await sleep(PAUSE_BETWEEN_SWAPS_MS);
    }
    clearInterval(timer);
    clearInterval(gapTimer);
    await Promise.all(pending);
    const elapsedS = (performance.now() - loadStart) / 1000;

    const latency = (s: Sample) => s.end - s.start;
    const steady = samples.filter((s) => s.end <= steadyEnd && s.start > loadStart + 500).map(latency);
    const during = samples.filter((s) => windows.some((w) => s.start < w.end && s.end > w.start)).map(latency);
    // After the first swap but outside every swap: where the retired sessions are released and the spare thread restarts.
    const between = samples.filter((s) => s.start > windows[0].start && !windows.some((w) => s.start < w.end && s.end > w.start)).map(latency);
    const dropped = samples.filter((s) => !s.ok).length + (issued - samples.length);
    const figures = {
      inferencesIssued: issued,
      achievedRatePerSec: round(issued / elapsedS),
      dropped,
      swapLatencyMs: { p50: round(pct(swapMs, 50)), p99: round(pct(swapMs, 99)), max: round(Math.max(...swapMs)) },
      swapObservedByControlPlaneMs: { p50: round(pct(observedMs, 50)), p99: round(pct(observedMs, 99)) },
      inferenceSteadyMs: { count: steady.length, p50: round(pct(steady, 50)), p99: round(pct(steady, 99)) },
      inferenceDuringSwapsMs: { count: during.length, p50: round(pct(during, 50)), p99: round(pct(during, 99)) },
      inferenceBetweenSwapsMs: { count: between.length, p50: round(pct(between, 50)), p99: round(pct(between, 99)) },
      p99Ratio: round(pct(during, 99) / pct(steady, 99)),
      maxEventLoopPauseMs: {
        steady: round(Math.max(0, ...gaps.filter((g) => g.at <= steadyEnd).map((g) => g.ms))),
        duringSwaps: round(Math.max(0, ...gaps.filter((g) => windows.some((w) => g.at > w.start && g.at - g.ms < w.end)).map((g) => g.ms))),
      },
      swapPhasesP50Ms: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(pct(v, 50))])),
      modelBytes: models[0].length,
    };
    console.log(`swap benchmark\n${JSON.stringify(figures, null, 2)}`);
    expect(dropped).toBe(0);
    expect(agent.activeModelId).toBe(`bench-${SWAPS + 1}.0.0`);
  }, 180_000);
});

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
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { EdgeAgent, silentLogger } from '@hotswap/edge-agent';
import { generateSigningKeyPair } from '@hotswap/infrastructure';
import { makeSlowModel } from '@hotswap/infrastructure/testing';
import { ControlPlaneDouble } from '../../../apps/edge-agent/src/testing/control-plane-double.js';
import { swapCommand } from '../../../apps/edge-agent/src/testing/releases.js';
import type { WorkerSession } from '../../../apps/edge-agent/src/swap/worker-session.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const RATE_PER_SEC = 500;
const SWAPS = 10;
const WIDTH = 512; // one 512×512 float32 initializer: 1 MiB per model
const STEADY_MS = 3000;
const PAUSE_BETWEEN_SWAPS_MS = 500;
/**
 * Rounds of (steady state, then 10 swaps) in one run. The p99 of one round's ~110 inferences
 * during swaps is its second-worst sample, so one stalled batch decides it; rounds pooled give
 * the p99 a sample size it can be read from. Default 1 (the bench as the issue states it).
 */
const ROUNDS = Number(process.env['BENCH_SWAP_ROUNDS'] ?? 1);
/**
 * Experiment (`BENCH_SWAP_LOAD=thread`): the load comes from another thread straight to the active
 * session's thread (a port per session, switched when the control plane hears `swapped`), so the
 * agent's main thread (command, download, reports, its garbage) is off the serving path. Tells
 * whether an inference front on its own thread would remove the during-swap tail. Default `main`:
 * `agent.infer()` on the main thread, as the product serves today.
 */
const LOAD_FROM_THREAD = process.env['BENCH_SWAP_LOAD'] === 'thread';

const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { rate, width } = workerData;
const input = Float32Array.from({ length: width }, (_, i) => i / width);
const now = () => performance.timeOrigin + performance.now();
const pending = new Map();
const samples = [];
let port, timer, loadStart, issued = 0, nextId = 1;
const attach = (p) => p.on('message', (r) => {
  const start = pending.get(r.id);
  if (start === undefined) return;
  pending.delete(r.id);
  samples.push([start, now(), r.ok ? 1 : 0]);
});
parentPort.on('message', (m) => {
  if (m.op === 'activate') {
    attach(m.port);
    port = m.port;
    if (timer === undefined) {
      loadStart = now();
      timer = setInterval(() => {
        const due = Math.floor(((now() - loadStart) * rate) / 1000) - issued;
        for (let k = 0; k < due; k++) {
          issued++;
          const id = nextId++;
          pending.set(id, now());
          port.postMessage({ id, op: 'run', feeds: { x: { type: 'float32', dims: [1, width], data: input.slice() } } });
        }
      }, 10);
    }
    parentPort.postMessage({ op: 'activated', loadStart });
  } else if (m.op === 'stop') {
    clearInterval(timer);
    const done = () => (pending.size === 0 ? parentPort.postMessage({ op: 'samples', samples, issued }) : setTimeout(done, 5));
    done();
  }
});
`;

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
  if (process.env['BENCH_NICE_FILE_SERVER'] === '1' && child.pid !== undefined) setPriority(child.pid, 19);
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
    // Every command a newer version (rollback protection); later rounds reuse the artifacts.
    const commandFor = (i: number) => {
      const m = i % models.length;
      return swapCommand({ name: 'bench', version: `${i + 1}.0.0`, artifact: models[m], artifactUrl: `${artifacts.baseUrl}/bench-${m}.onnx`, privateKeyPem: keys.privateKeyPem });
    };
    // Signed (hashing each 1 MiB artifact) before the load starts: the bench's own work on this
    // thread must not land inside a swap window and be counted as the agent's.
    const commands = Array.from({ length: ROUNDS * SWAPS + 1 }, (_, i) => commandFor(i));
    const first = commands[0]!;
    await cp.command(first);
    expect(await cp.outcome(first.commandId)).toMatchObject({ phase: 'swapped' });

    // The models' and commands' garbage is collected now, not in the middle of a swap.
    (globalThis as { gc?: () => void }).gc?.();

    // Open-loop load: every 10 ms, start the inferences due since the start.
    let samples: Sample[] = [];
    const pending = new Set<Promise<void>>();
    const input = Float32Array.from({ length: WIDTH }, (_, i) => i / WIDTH);
    let issued = 0;
    let loadStart = performance.now();
    const loadWorker = LOAD_FROM_THREAD ? new Worker(LOAD_WORKER, { eval: true, workerData: { rate: RATE_PER_SEC, width: WIDTH } }) : undefined;
    const fromWorker = (op: string) => new Promise<Record<string, unknown>>((resolve) => {
      const on = (m: Record<string, unknown>) => {
        if (m['op'] !== op) return;
        loadWorker!.off('message', on);
        resolve(m);
      };
      loadWorker!.on('message', on);
    });
    // The active session's own thread, and a port to it for the load thread.
    const activate = async () => {
      if (loadWorker === undefined) return;
      const session = (agent as unknown as { slots: { active: { lease: { session: WorkerSession } } } }).slots.active.lease.session;
      const port = await session.openPort();
      const activated = fromWorker('activated');
      loadWorker.postMessage({ op: 'activate', port }, [port]);
      const { loadStart: startedAt } = await activated;
      loadStart = (startedAt as number) - performance.timeOrigin;
    };
    await activate();
    const timer = setInterval(() => {
      if (loadWorker !== undefined) return;
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

    const windows: Array<{ start: number; end: number }> = [];
    const swapMs: number[] = [];
    const phases: Record<string, number[]> = {};
    const observedMs: number[] = [];
    const phaseMarks: Array<{ phase: string; at: number }> = [];
    const rounds: Array<{ steadyStart: number; steadyEnd: number; windows: Array<{ start: number; end: number }> }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      // The last swap's retired session is released after the agent's 2 s grace: not in steady state.
      if (r > 0) await sleep(2_500);
      const steadyStart = performance.now();
      await sleep(STEADY_MS);
      const current = { steadyStart, steadyEnd: performance.now(), windows: [] as Array<{ start: number; end: number }> };
      rounds.push(current);
      for (let i = r * SWAPS + 1; i <= (r + 1) * SWAPS; i++) {
        const command = commands[i]!;
        const start = performance.now();
        await cp.command(command);
        const outcome = await cp.outcome(command.commandId, 30_000);
        const end = performance.now();
        expect(outcome.phase).toBe('swapped');
        windows.push({ start, end });
        current.windows.push({ start, end });
        // Where each phase began, as the control plane heard it (a NATS hop late): for the split below.
        for (const r of cp.statuses) if (r.body.commandId === command.commandId) phaseMarks.push({ phase: r.body.phase, at: r.receivedAt });
        swapMs.push(outcome.timings?.totalMs ?? NaN);
        for (const [k, v] of Object.entries(outcome.timings ?? {})) (phases[k] ??= []).push(v);
        observedMs.push(end - start);
        await activate();
        await sleep(PAUSE_BETWEEN_SWAPS_MS);
      }
    }
    clearInterval(timer);
    clearInterval(gapTimer);
    await Promise.all(pending);
    if (loadWorker !== undefined) {
      const collected = fromWorker('samples');
      loadWorker.postMessage({ op: 'stop' });
      const result = await collected;
      issued = result['issued'] as number;
      samples = (result['samples'] as Array<[number, number, number]>).map(([start, end, ok]) => ({ start: start - performance.timeOrigin, end: end - performance.timeOrigin, ok: ok === 1 }));
      await loadWorker.terminate();
    }
    const elapsedS = (performance.now() - loadStart) / 1000;

    const latency = (s: Sample) => s.end - s.start;
    const steadyEnd = rounds[0]!.steadyEnd;
    // Steady state: each round's 3 s before its first swap (the first 500 ms of the load excepted).
    const inSteady = (s: Sample, r: (typeof rounds)[number]) => s.end <= r.steadyEnd && s.start > Math.max(r.steadyStart, loadStart + 500);
    const overlaps = (s: Sample, ws: Array<{ start: number; end: number }>) => ws.some((w) => s.start < w.end && s.end > w.start);
    const steady = samples.filter((s) => rounds.some((r) => inSteady(s, r))).map(latency);
    const during = samples.filter((s) => overlaps(s, windows)).map(latency);
    // The samples during swaps by the phase they ended in, and how many took over 2x steady p99.
    const sortedMarks = [...phaseMarks].sort((a, b) => a.at - b.at);
    const phaseAt = (t: number) => {
      let phase = 'command';
      for (const m of sortedMarks) if (m.at <= t) phase = m.phase; else break;
      return phase;
    };
    const slowBound = 2 * pct(steady, 99);
    const byPhase: Record<string, { count: number; p50: number; max: number; over2xSteadyP99: number }> = {};
    const duringSamples = samples.filter((s) => overlaps(s, windows));
    for (const phase of ['command', 'received', 'downloading', 'verifying', 'loading', 'warming', 'swapped']) {
      const ls = duringSamples.filter((s) => phaseAt(s.end) === phase).map(latency);
      if (ls.length > 0) byPhase[phase] = { count: ls.length, p50: round(pct(ls, 50)), max: round(Math.max(...ls)), over2xSteadyP99: ls.filter((l) => l > slowBound).length };
    }
    const perRound = rounds.map((r) => {
      const st = samples.filter((s) => inSteady(s, r)).map(latency);
      const du = samples.filter((s) => overlaps(s, r.windows)).map(latency);
      return { steadyP99: round(pct(st, 99)), duringCount: du.length, duringP99: round(pct(du, 99)), p99Ratio: round(pct(du, 99) / pct(st, 99)) };
    });
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
      load: LOAD_FROM_THREAD ? 'from another thread, straight to the session thread (experiment)' : 'agent.infer() on the main thread',
      duringSwapsByPhase: byPhase,
      ...(ROUNDS > 1 ? { rounds: ROUNDS, roundsWithin2x: perRound.filter((r) => r.p99Ratio <= 2).length, perRound } : {}),
    };
    console.log(`swap benchmark\n${JSON.stringify(figures, null, 2)}`);
    expect(dropped).toBe(0);
    expect(agent.activeModelId).toBe(`bench-${ROUNDS * SWAPS + 1}.0.0`);
  }, 120_000 + ROUNDS * 60_000);
});

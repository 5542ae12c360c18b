import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { ARTIFACT_CHUNK_HEADERS, DeviceSubjects, type ArtifactChunkRequest, type SwapCommand } from '@hotswap/contracts';
import { generateSigningKeyPair } from '@hotswap/infrastructure';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { EdgeAgent } from '../agent/edge-agent.js';
import { silentLogger } from '../agent/logger.js';
import { ControlPlaneDouble } from '../testing/control-plane-double.js';
import { swapCommand } from '../testing/releases.js';
import { downloadArtifactOverNats, type NatsDownloadOptions } from './nats-artifact-source.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const keys = generateSigningKeyPair();
const KEY = 'models/adder/a.onnx';
let nc: NatsConnection;
let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  nc = await connect({ servers: NATS_URL });
  dir = await mkdtemp(join(tmpdir(), 'nats-artifact-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await nc.close();
  await rm(dir, { recursive: true, force: true });
});

type Answer = (request: ArtifactChunkRequest, msg: Msg) => void;

/** The control plane's `.artifact` responder, played: serves `bytes` unless `answer` says otherwise. */
function responder(deviceId: string, bytes: Buffer, answer?: (request: ArtifactChunkRequest, msg: Msg, serve: () => void) => void) {
  const seen: ArtifactChunkRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const serve: Answer = (request, msg) => {
    const h = headers();
    h.set(ARTIFACT_CHUNK_HEADERS.size, String(bytes.length));
    msg.respond(bytes.subarray(request.offset, request.offset + request.length), { headers: h });
  };
  const sub = nc.subscribe(DeviceSubjects.artifact(deviceId), {
    callback: (_err, msg) => {
      const request = msg.json<ArtifactChunkRequest>();
      seen.push(request);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Answered on a later turn, so that requests can pile up to the window.
      setImmediate(() => {
        inFlight--;
        if (answer) answer(request, msg, () => serve(request, msg));
        else serve(request, msg);
      });
    },
  });
  cleanups.push(() => sub.unsubscribe());
  return { seen, maxInFlight: () => maxInFlight };
}

function options(deviceId: string, size: number, overrides: Partial<NatsDownloadOptions> = {}): NatsDownloadOptions {
  return {
    connection: () => nc, deviceId, modelId: 'adder-1.0.0', artifactKey: KEY, destination: join(dir, `${deviceId}.part`), maxBytes: size,
    chunkBytes: 1000, window: 4, requestTimeoutMs: 300, retries: 2, backoffBaseMs: 10, backoffMaxMs: 50, ...overrides,
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const newId = () => `nx-${randomUUID().slice(0, 12)}`;

describe('NATS artifact transfer - the device side', () => {
  it('fetches the artifact in chunks with at most `window` requests in flight, hashing on the way', async () => {
    const id = newId();
    const bytes = randomBytes(25_500);
    const served = responder(id, bytes);
    await nc.flush();
    const result = await downloadArtifactOverNats(options(id, bytes.length));
    expect(result).toMatchObject({ bytes: bytes.length, sha256: sha256(bytes), attempts: 1, resumed: false, chunks: 26 });
    expect(await readFile(join(dir, `${id}.part`))).toEqual(bytes);
    expect(served.seen.map((r) => r.offset)).toEqual(Array.from({ length: 26 }, (_, i) => i * 1000));
    expect(served.seen.every((r) => r.length === Math.min(1000, bytes.length - r.offset))).toBe(true);
    expect(served.maxInFlight()).toBeGreaterThan(1);
    expect(served.maxInFlight()).toBeLessThanOrEqual(4);
  });

  it('resumes from the bytes already on disk after a chunk is lost, never asking for the start again', async () => {
    const id = newId();
    const bytes = randomBytes(10_000);
    let dropped = false;
    const served = responder(id, bytes, (request, _msg, serve) => {
      // The link drops once the transfer is under way: the chunk at 6000 is never answered.
      if (request.offset === 6000 && !dropped) dropped = true;
      else serve();
    });
    await nc.flush();
    const resumes: number[] = [];
    const result = await downloadArtifactOverNats(options(id, bytes.length, { onResume: (offset) => resumes.push(offset) }));
    expect(result).toMatchObject({ bytes: bytes.length, sha256: sha256(bytes), attempts: 2, resumed: true, resumedFrom: [6000] });
    expect(resumes).toEqual([6000]);
    expect(served.seen.filter((r) => r.offset === 0)).toHaveLength(1);
    expect(await readFile(join(dir, `${id}.part`))).toEqual(bytes);
  });

  it('keeps a partial file from an earlier run and continues it', async () => {
    const id = newId();
    const bytes = randomBytes(5_000);
    const first = responder(id, bytes, (request, _msg, serve) => (request.offset < 3000 ? serve() : undefined));
    await nc.flush();
    await expect(downloadArtifactOverNats(options(id, bytes.length, { retries: 0, window: 1 }))).rejects.toThrow(/failed after 1 attempts without progress/);
    expect((await stat(join(dir, `${id}.part`))).size).toBe(3000);
    cleanups.splice(0).forEach((c) => void c());
    const second = responder(id, bytes);
    await nc.flush();
    const result = await downloadArtifactOverNats(options(id, bytes.length));
    expect(result).toMatchObject({ bytes: 5000, sha256: sha256(bytes), resumedFrom: [3000] });
    expect(Math.min(...second.seen.map((r) => r.offset))).toBe(3000);
    expect(first.seen.length).toBeGreaterThan(0);
  });

  it.each([
    ['a short chunk', (r: ArtifactChunkRequest, msg: Msg) => msg.respond(Buffer.alloc(r.length - 1)), /short chunk at offset 0: 999 bytes, 1000 were asked for/],
    ['an oversized chunk', (r: ArtifactChunkRequest, msg: Msg) => msg.respond(Buffer.alloc(r.length + 1)), /the chunk at offset 0 has 1001 bytes, 1000 were asked for/],
    ['an artifact larger than the manifest', (_r: ArtifactChunkRequest, msg: Msg) => {
      const h = headers();
      h.set(ARTIFACT_CHUNK_HEADERS.size, '999999');
      msg.respond(Buffer.alloc(1000), { headers: h });
    }, /larger than the manifest's sizeBytes 3000 \(the control plane announced 999999 bytes\)/],
    ['a refusal', (_r: ArtifactChunkRequest, msg: Msg) => {
      const h = headers();
      h.set(ARTIFACT_CHUNK_HEADERS.errorCode, 'FORBIDDEN');
      h.set(ARTIFACT_CHUNK_HEADERS.error, 'models/x is not the artifact of model adder-1.0.0');
      msg.respond(new Uint8Array(0), { headers: h });
    }, /refused the chunk at offset 0 \(FORBIDDEN\): models\/x is not the artifact of model adder-1.0.0/],
  ])('ends at once, without retrying, on %s', async (_label, answer, message) => {
    const id = newId();
    const served = responder(id, Buffer.alloc(3000), (r, msg) => answer(r, msg));
    await nc.flush();
    await expect(downloadArtifactOverNats(options(id, 3000, { window: 1, retries: 5 }))).rejects.toThrow(message);
    expect(served.seen).toHaveLength(1);
  });

  it('gives up after `retries` attempts that received nothing, naming the last error', async () => {
    const id = newId();
    await expect(downloadArtifactOverNats(options(id, 3000, { retries: 1, requestTimeoutMs: 100 }))).rejects.toThrow(/failed after 2 attempts without progress: chunk at offset 0: /);
  });
});

describe('edge agent - swaps over the NATS transport', () => {
  it('swaps in a model fetched over NATS; a later artifact whose bytes hash wrong fails the swap with the reason and the old model keeps serving', async () => {
    const deviceId = newId();
    const dataDir = await mkdtemp(join(tmpdir(), 'edge-agent-nats-'));
    const cp = await ControlPlaneDouble.start(NATS_URL, deviceId);
    const agent = new EdgeAgent({
      deviceId, deviceType: 'edge-sensor', region: 'eu-central-1', capabilities: { cpuCores: 1, gpu: false, memoryMb: 512, storageMb: 1024, transport: 'nats' },
      natsServers: NATS_URL, dataDir, manifestPublicKeyPem: keys.publicKeyPem, heartbeatIntervalMs: 200, telemetryIntervalMs: 500, graceMs: 50,
      warmupRuns: 1, requestTimeoutMs: 500, retryMaxDelayMs: 200, downloadBackoffBaseMs: 10, natsChunkBytes: 1024, natsChunkWindow: 2, logger: silentLogger,
    });
    cleanups.push(async () => {
      await agent.stop();
      await cp.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    await agent.start();
    await agent.waitUntilOnline(10_000);
    expect(cp.registrations[0]?.body.capabilities).toMatchObject({ transport: 'nats' });

    const v1 = makeAddModel({ addend: 1 });
    const v2 = makeAddModel({ addend: 2 });
    const v3 = makeAddModel({ addend: 3 });
    expect(v3.length).toBe(v2.length);
    const served = new Map<string, Buffer>([['models/adder/1.0.0.onnx', v1], ['models/adder/2.0.0.onnx', v3]]);
    const sub = nc.subscribe(DeviceSubjects.artifact(deviceId), {
      callback: (_err, msg) => {
        const r = msg.json<ArtifactChunkRequest>();
        msg.respond((served.get(r.artifactKey) as Buffer).subarray(r.offset, r.offset + r.length));
      },
    });
    cleanups.push(() => sub.unsubscribe());
    await nc.flush();
    // The URL refuses connections: only the NATS path can deliver.
    const command = (version: string, artifact: Buffer): SwapCommand => ({
      ...swapCommand({ name: 'adder', version, artifact, artifactUrl: 'http://127.0.0.1:1/never', privateKeyPem: keys.privateKeyPem }),
      artifactKey: `models/adder/${version}.onnx`,
    });

    const first = command('1.0.0', v1);
    await cp.command(first);
    expect(await cp.outcome(first.commandId)).toMatchObject({ phase: 'swapped' });
    const y = async () => Array.from((await agent.infer({ x: new ort.Tensor('float32', Float32Array.from([0, 0, 0, 0]), [1, 4]) })).outputs['y']!.data as Float32Array);
    expect(await y()).toEqual([1, 1, 1, 1]);

    const second = command('2.0.0', v2);
    await cp.command(second);
    const outcome = await cp.outcome(second.commandId);
    expect(outcome).toMatchObject({ phase: 'failed' });
    expect(outcome.reason).toBe(`checksum mismatch: expected sha256 ${sha256(v2)}, got ${sha256(v3)}`);
    expect(agent.activeModelId).toBe('adder-1.0.0');
    expect(await y()).toEqual([1, 1, 1, 1]);
  }, 30_000);
});

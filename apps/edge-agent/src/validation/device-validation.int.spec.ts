import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceValidationRequest } from '@hotswap/contracts';
import { generateSigningKeyPair } from '@hotswap/infrastructure';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { silentLogger } from '../agent/logger.js';
import { ArtifactServer } from '../testing/artifact-server.js';
import { swapCommand } from '../testing/releases.js';
import { DeviceValidations } from './device-validation.js';

const keys = generateSigningKeyPair();
const MODEL = makeAddModel({ addend: 1 });
let artifacts: ArtifactServer;
let workDir: string;
let validations: DeviceValidations;
const lifetime = new AbortController();

beforeAll(async () => {
  artifacts = await ArtifactServer.start();
  workDir = await mkdtemp(join(tmpdir(), 'device-validation-'));
  validations = new DeviceValidations({
    deviceId: 'dev-val', workDir, manifestPublicKeyPem: keys.publicKeyPem, clock: () => new Date(), downloadRetries: 0, signal: lifetime.signal, logger: silentLogger,
  });
});

afterAll(async () => {
  lifetime.abort();
  await artifacts.stop();
  await rm(workDir, { recursive: true, force: true });
});

/** A request for MODEL (or `artifact` served in its place), signed like a swap. */
function request(overrides: Partial<DeviceValidationRequest> = {}, served: Buffer = MODEL): DeviceValidationRequest {
  const url = artifacts.put(`m-${Math.random().toString(36).slice(2)}.onnx`, served);
  const swap = swapCommand({ name: 'adder', version: '1.0.0', artifact: MODEL, artifactUrl: url, privateKeyPem: keys.privateKeyPem });
  return { type: 'validate', validationId: 'val-1', modelId: swap.modelId, artifactUrl: url, release: swap.release, inferences: 20, warmup: 1, issuedAt: swap.issuedAt, ...overrides };
}
const ask = (body: unknown) => validations.handle(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));

describe('DeviceValidations', () => {
  it('loads the model on a thread of its own, benchmarks it and cleans up its download', async () => {
    const reply = await ask(request());
    expect(reply).toMatchObject({ validationId: 'val-1', deviceId: 'dev-val', ok: true, inferences: 20, errorRate: 0 });
    expect(reply.latencyMs!.p50).toBeLessThanOrEqual(reply.latencyMs!.p99);
    expect(reply.throughputPerSec).toBeGreaterThan(0);
    expect(reply.loadMs).toBeGreaterThan(0);
    expect(await readdir(workDir)).toEqual([]);
  });

  it('refuses malformed JSON and an invalid request, naming the problem', async () => {
    expect(await ask('{nope')).toMatchObject({ ok: false, validationId: '', reason: expect.stringContaining('malformed JSON') });
    expect(await ask({ ...request(), inferences: 0 })).toMatchObject({ ok: false, validationId: 'val-1', reason: expect.stringMatching(/invalid validation request: .*inferences/) });
  });

  it('refuses a manifest signed by another key, and one naming another model', async () => {
    const other = generateSigningKeyPair();
    const forged = swapCommand({ name: 'adder', version: '1.0.0', artifact: MODEL, artifactUrl: 'http://127.0.0.1:1/x', privateKeyPem: other.privateKeyPem });
    expect(await ask(request({ release: forged.release }))).toMatchObject({ ok: false, reason: expect.stringMatching(/^manifest rejected/) });
    expect(await ask(request({ modelId: 'other-1.0.0' }))).toMatchObject({ ok: false, reason: 'manifest is for model adder-1.0.0 but the request names other-1.0.0' });
  });

  it('refuses bytes that do not match the manifest, and bytes onnxruntime cannot load', async () => {
    const tampered = Buffer.from(MODEL);
    tampered[tampered.length - 1] ^= 0xff;
    expect(await ask(request({}, tampered))).toMatchObject({ ok: false, reason: expect.stringMatching(/^checksum mismatch/) });
    const garbage = Buffer.alloc(MODEL.length, 7);
    const signedGarbage = swapCommand({ name: 'adder', version: '1.0.0', artifact: garbage, artifactUrl: 'http://127.0.0.1:1/x', privateKeyPem: keys.privateKeyPem });
    expect(await ask(request({ release: signedGarbage.release }, garbage))).toMatchObject({ ok: false, reason: expect.stringMatching(/^model failed to load/) });
    expect(await readdir(workDir)).toEqual([]);
  });
});

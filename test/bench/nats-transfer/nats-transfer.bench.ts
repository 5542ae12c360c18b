/**
 * Per-device artifact transfer over NATS against HTTP, same 64 MiB artifact, same run: the model
 * registry's real `.artifact` responder (ranged reads of the local artifact store) answering the
 * edge agent's chunked requests, against the agent's HTTP download of the same stored file from a
 * local HTTP server. Both servers run in the bench process, beside the device side, so neither
 * gets a core of its own. Each transfer ends with the size and SHA-256 check against the manifest.
 * Run: `npm run bench -- nats-transfer`.
 */
import 'reflect-metadata';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import onnxProto from 'onnx-proto';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { Commands, DESIRED_STATE_BUCKET, Queries, type ModelArtifactView, type ModelView, type UploadModelCommand } from '@hotswap/contracts';
import { makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '../../../apps/model-registry/src/model-registry.module.js';
import { downloadArtifact } from '../../../apps/edge-agent/src/swap/artifact-downloader.js';
import { digestMismatch } from '../../../apps/edge-agent/src/swap/artifact-verifier.js';
import { downloadArtifactOverNats } from '../../../apps/edge-agent/src/swap/nats-artifact-source.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const RUNS = 2;
const round = (v: number) => Math.round(v * 10) / 10;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function paddedModel(size: number): Buffer {
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(makeAddModel({ addend: 1 }));
  model.docString = 'p'.repeat(size);
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

describe('NATS transfer benchmark', () => {
  it('moves a 64 MiB artifact to a device over NATS chunks and over HTTP', async () => {
    const t: TestRuntime = await startTestRuntime();
    cleanups.push(() => t.cleanup());
    const app = await NestFactory.createApplicationContext(ModelRegistryModule.register(t.runtime), { logger: false });
    await app.init();
    cleanups.push(() => app.close());

    const bytes = paddedModel(SIZE);
    const stored = await t.runtime.artifacts.put('staging/bench', Readable.from([bytes]));
    const upload: UploadModelCommand = {
      actor: 'bench', name: 'bench', version: '1.0.0', framework: 'onnx', metadata: {}, stagingKey: 'staging/bench', sha256: stored.sha256, sizeBytes: stored.sizeBytes,
    };
    const view = await t.runtime.bus.request<UploadModelCommand, ModelView>(Commands.uploadModel, upload, { timeoutMs: 120_000 });
    const artifact = await t.runtime.bus.request<{ id: string }, ModelArtifactView>(Queries.getModelArtifact, { id: view.id }, { timeoutMs: 5_000 });
    const manifest = { sha256: artifact.sha256, sizeBytes: artifact.sizeBytes };
    // The responder serves a device its desired model only, as the distributor records it.
    await (await new Kvm(t.runtime.nats).create(DESIRED_STATE_BUCKET, { history: 5 })).put('bench-dev', JSON.stringify({ modelId: artifact.modelId, commandId: 'bench' }));

    // HTTP: the same stored artifact, streamed from the store.
    const server: Server = createServer((_req, res) => {
      void t.runtime.artifacts.get(artifact.artifactKey).then((body) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': artifact.sizeBytes });
        body.pipe(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/artifact`;

    // The device's own connection, as an agent has.
    const device = await connect({ servers: t.nats.url, inboxPrefix: '_INBOX_bench-dev' });
    cleanups.push(() => device.close());
    const dir = await mkdtemp(join(tmpdir(), 'bench-nats-transfer-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    const variants = [
      { name: 'http', run: (destination: string) => downloadArtifact({ url, destination, maxBytes: artifact.sizeBytes, retries: 0 }) },
      ...[[256 * 1024, 4], [256 * 1024, 8], [1000 * 1024, 4]].map(([chunkBytes, window]) => ({
        name: `nats ${chunkBytes / 1024} KiB x ${window}`,
        run: (destination: string) => downloadArtifactOverNats({
          connection: () => device, deviceId: 'bench-dev', modelId: artifact.modelId, artifactKey: artifact.artifactKey, destination,
          maxBytes: artifact.sizeBytes, chunkBytes, window, requestTimeoutMs: 10_000, retries: 0,
        }),
      })),
    ];
    const figures: Record<string, { runsMs: number[]; bestMiBps: number }> = {};
    for (let i = 0; i < RUNS; i++) {
      for (const variant of variants) {
        const destination = join(dir, `${variant.name.replace(/\W+/g, '-')}-${i}.part`);
        const t0 = performance.now();
        const result = await variant.run(destination);
        expect(digestMismatch(result, manifest)).toBeUndefined();
        const ms = performance.now() - t0;
        await rm(destination);
        const entry = (figures[variant.name] ??= { runsMs: [], bestMiBps: 0 });
        entry.runsMs.push(Math.round(ms));
        entry.bestMiBps = Math.max(entry.bestMiBps, round(artifact.sizeBytes / MiB / (ms / 1000)));
      }
    }
    const http = figures['http']!.bestMiBps;
    const report = {
      artifactMiB: round(artifact.sizeBytes / MiB),
      natsMaxPayloadBytes: device.info?.max_payload,
      transfers: figures,
      natsToHttpRatio: Object.fromEntries(Object.entries(figures).filter(([k]) => k !== 'http').map(([k, v]) => [k, round(v.bestMiBps / http)])),
    };
    console.log(`nats-transfer benchmark (MiB/s per device, download + SHA-256 on the way + size/digest check)\n${JSON.stringify(report, null, 2)}`);
    expect(http).toBeGreaterThan(0);
  }, 900_000);
});

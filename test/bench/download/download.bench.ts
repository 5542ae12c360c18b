/**
 * Per-device download plus verification of a 256 MiB artifact from a local HTTP server (in its
 * own process), the way the edge agent does it: stream to a `.part` file bounded by the manifest
 * size, hashing on the way, then compare size and SHA-256 with the manifest. Compared with
 * `sha256sum` of the same file in the same run.
 * Run: `npm run bench -- download`.
 */
import { describe, it, expect, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { downloadArtifact } from '../../../apps/edge-agent/src/swap/artifact-downloader.js';
import { digestMismatch } from '../../../apps/edge-agent/src/swap/artifact-verifier.js';

const SIZE = 256 * 1024 * 1024;
const RUNS = 3;
const MiB = 1024 * 1024;
const round = (v: number) => Math.round(v * 10) / 10;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('download benchmark', () => {
  it('downloads and verifies a 256 MiB artifact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-download-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // The artifact: random bytes written in 8 MiB blocks, hashed on the way.
    const source = join(dir, 'artifact.bin');
    const hash = createHash('sha256');
    const fh = await open(source, 'w');
    for (let written = 0; written < SIZE; written += 8 * MiB) {
      const block = randomBytes(8 * MiB);
      hash.update(block);
      await fh.write(block);
    }
    await fh.close();
    const sha256 = hash.digest('hex');

    // A local HTTP server in its own process streaming the file from disk, as an artifact store would.
    const serverCode = `
      const { createServer } = require('node:http');
      const { createReadStream } = require('node:fs');
      const server = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': ${SIZE} });
        createReadStream(process.argv[1]).pipe(res);
      });
      server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
    const child = spawn(process.execPath, ['-e', serverCode, source], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(async () => {
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
    });
    const port = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    const url = `http://127.0.0.1:${port}/artifact.bin`;

    const runs: Array<{ downloadMs: number; verifyMs: number; totalMs: number; sha256sumMs: number }> = [];
    for (let i = 0; i < RUNS; i++) {
      const destination = join(dir, `device-${i}.part`);
      const t0 = performance.now();
      const result = await downloadArtifact({ url, destination, maxBytes: SIZE, retries: 0 });
      const t1 = performance.now();
      expect(digestMismatch(result, { sha256, sizeBytes: SIZE })).toBeUndefined();
      const t2 = performance.now();
      const t3 = performance.now();
      const { stdout } = await promisify(execFile)('sha256sum', [destination]);
      const t4 = performance.now();
      expect(stdout.split(' ')[0]).toBe(sha256);
      expect((await stat(destination)).size).toBe(SIZE);
      runs.push({ downloadMs: t1 - t0, verifyMs: t2 - t1, totalMs: t2 - t0, sha256sumMs: t4 - t3 });
      await rm(destination);
    }
    const best = runs.reduce((a, b) => (b.totalMs < a.totalMs ? b : a));
    const mbps = (ms: number) => round(SIZE / MiB / (ms / 1000));
    const figures = {
      artifactMiB: SIZE / MiB,
      runs: runs.map((r) => ({ downloadMs: Math.round(r.downloadMs), verifyMs: Math.round(r.verifyMs), totalMs: Math.round(r.totalMs), sha256sumMs: Math.round(r.sha256sumMs) })),
      bestDownloadPlusVerifyMiBps: mbps(best.totalMs),
      medianDownloadPlusVerifyMiBps: mbps([...runs].sort((a, b) => a.totalMs - b.totalMs)[Math.floor(RUNS / 2)].totalMs),
      sha256sumMiBps: mbps(Math.min(...runs.map((r) => r.sha256sumMs))),
      /** How many times longer download + verify takes than sha256sum alone reading the file. */
      ratioToSha256sum: round(best.totalMs / Math.min(...runs.map((r) => r.sha256sumMs))),
    };
    console.log(`download benchmark\n${JSON.stringify(figures, null, 2)}`);
    expect(figures.bestDownloadPlusVerifyMiBps).toBeGreaterThan(50);
  }, 600_000);
});

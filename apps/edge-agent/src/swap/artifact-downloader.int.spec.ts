import { describe, it, expect, beforeAll, afterAll, afterEach } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactServer } from '../testing/artifact-server.js';
import { ArtifactTooLargeError, downloadArtifact, DownloadError, InsufficientDiskSpaceError, redact } from './artifact-downloader.js';

const body = randomBytes(64 * 1024);
const sha256 = createHash('sha256').update(body).digest('hex');
let artifacts: ArtifactServer;
let dir: string;
let n = 0;

beforeAll(async () => {
  artifacts = await ArtifactServer.start();
  dir = await mkdtemp(join(tmpdir(), 'downloader-'));
});

afterAll(async () => {
  await artifacts.stop();
  await rm(dir, { recursive: true, force: true });
});

const part = () => join(dir, `file-${++n}.part`);

/** A server answering every request with the given status, headers and body, ignoring Range. */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/x`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('artifact downloader', () => {
  it('downloads the whole file in one request', async () => {
    const destination = part();
    const result = await downloadArtifact({ url: artifacts.put('whole', body), destination, maxBytes: body.length, retries: 0 });
    expect(result).toEqual({ bytes: body.length, attempts: 1, resumed: false, sha256 });
    expect((await readFile(destination)).equals(body)).toBe(true);
  });

  it('resumes after the connection drops, retrying with backoff', async () => {
    const destination = part();
    const retries: number[] = [];
    const url = artifacts.put('cut-twice', body, { cutAfterBytes: 10_000, times: 2 });
    const result = await downloadArtifact({
      url,
      destination,
      maxBytes: body.length,
      retries: 5,
      backoffBaseMs: 10,
      onRetry: ({ delayMs }) => retries.push(delayMs),
    });
    expect(result).toEqual({ bytes: body.length, attempts: 3, resumed: true, sha256 });
    expect(retries).toEqual([10, 20]);
    expect(artifacts.requestsFor('cut-twice').map((r) => r.range)).toEqual([undefined, 'bytes=10000-', 'bytes=20000-']);
    expect((await readFile(destination)).equals(body)).toBe(true);
  });

  it('continues a .part file left by an earlier run', async () => {
    const destination = part();
    await writeFile(destination, body.subarray(0, 5000));
    const result = await downloadArtifact({ url: artifacts.put('leftover', body), destination, maxBytes: body.length, retries: 0 });
    expect(result).toEqual({ bytes: body.length, attempts: 1, resumed: true, sha256 });
    expect((await readFile(destination)).equals(body)).toBe(true);
  });

  it('starts over when the server ignores Range and sends the whole file', async () => {
    const server = await rawServer((_req, res) => res.writeHead(200, { 'content-length': body.length }).end(body));
    closers.push(server.close);
    const destination = part();
    await writeFile(destination, Buffer.alloc(100, 7));
    const result = await downloadArtifact({ url: server.url, destination, maxBytes: body.length, retries: 0 });
    expect(result.sha256).toBe(sha256);
    expect((await readFile(destination)).equals(body)).toBe(true);
  });

  it('discards a .part file the server answers 416 for and downloads again', async () => {
    let calls = 0;
    const server = await rawServer((req, res) => {
      calls++;
      if (req.headers.range) res.writeHead(416).end();
      else res.writeHead(200).end(body);
    });
    closers.push(server.close);
    const destination = part();
    await writeFile(destination, Buffer.alloc(100));
    const result = await downloadArtifact({ url: server.url, destination, maxBytes: body.length, retries: 1, backoffBaseMs: 1 });
    expect(result.attempts).toBe(2);
    expect(calls).toBe(2);
    expect((await readFile(destination)).equals(body)).toBe(true);
  });

  it('refuses a 206 whose Content-Range does not start where the file ends', async () => {
    const server = await rawServer((_req, res) => res.writeHead(206, { 'content-range': `bytes 0-99/${body.length}` }).end(body.subarray(0, 100)));
    closers.push(server.close);
    const destination = part();
    await writeFile(destination, Buffer.alloc(50));
    await expect(downloadArtifact({ url: server.url, destination, maxBytes: body.length, retries: 0 })).rejects.toThrow(
      'failed after 1 attempts: server answered Range bytes=50- with content-range bytes 0-99/65536',
    );
  });

  it('treats a complete .part file as done without a request', async () => {
    const destination = part();
    await writeFile(destination, body);
    const result = await downloadArtifact({ url: 'http://127.0.0.1:1/never', destination, maxBytes: body.length, retries: 0 });
    expect(result).toEqual({ bytes: body.length, attempts: 0, resumed: false, sha256 });
  });

  it('refuses to start without enough free disk space', async () => {
    const destination = part();
    const download = downloadArtifact({ url: artifacts.put('nospace', body), destination, maxBytes: body.length, retries: 3, freeBytes: async () => 1000 });
    await expect(download).rejects.toBeInstanceOf(InsufficientDiskSpaceError);
    await expect(download).rejects.toThrow(`insufficient disk space: ${body.length} bytes needed, 1000 free`);
    expect(artifacts.requestsFor('nospace')).toEqual([]);
  });

  it('aborts a body larger than the limit and deletes what it wrote', async () => {
    const destination = part();
    const download = downloadArtifact({ url: artifacts.put('big', body, { chunked: true }), destination, maxBytes: 1000, retries: 3 });
    await expect(download).rejects.toBeInstanceOf(ArtifactTooLargeError);
    await expect(stat(destination)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(artifacts.requestsFor('big')).toHaveLength(1);
  });

  it('does not retry a 404, and keeps signed-URL credentials out of the message', async () => {
    const download = downloadArtifact({ url: `${artifacts.baseUrl}/artifacts/none?sig=SECRET`, destination: part(), maxBytes: 10, retries: 3 });
    await expect(download).rejects.toThrow(/^HTTP 404 Not Found for http:\/\/127\.0\.0\.1:\d+\/artifacts\/none\?…$/);
    await expect(download).rejects.toMatchObject({ retryable: false });
  });

  it('gives up after the configured retries on a connection refused', async () => {
    const download = downloadArtifact({ url: 'http://127.0.0.1:1/x', destination: part(), maxBytes: 10, retries: 2, backoffBaseMs: 1 });
    await expect(download).rejects.toBeInstanceOf(DownloadError);
    await expect(download).rejects.toThrow(/^download of http:\/\/127\.0\.0\.1:1\/x failed after 3 attempts: connect ECONNREFUSED 127\.0\.0\.1:1$/);
  });

  it('follows redirects to the artifact, as far as five, and refuses a sixth', async () => {
    const target = artifacts.put('redirected', body);
    const hops = await rawServer((req, res) => {
      const left = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('left'));
      res.writeHead(302, { location: left === 0 ? target : `/x?left=${left - 1}` }).end();
    });
    closers.push(hops.close);
    const destination = part();
    expect(await downloadArtifact({ url: `${hops.url}?left=4`, destination, maxBytes: body.length, retries: 0 })).toMatchObject({ bytes: body.length, sha256 });
    const tooFar = downloadArtifact({ url: `${hops.url}?left=5`, destination: part(), maxBytes: body.length, retries: 3 });
    await expect(tooFar).rejects.toThrow(/^more than 5 redirects for http:\/\/127\.0\.0\.1:\d+\/x\?…$/);
    await expect(tooFar).rejects.toMatchObject({ retryable: false });
  });

  it('refuses a URL that is not http or https, without retrying', async () => {
    const download = downloadArtifact({ url: 'ftp://example.com/model.onnx', destination: part(), maxBytes: 10, retries: 3 });
    await expect(download).rejects.toThrow('unsupported protocol ftp: in ftp://example.com/model.onnx');
    await expect(download).rejects.toMatchObject({ retryable: false });
  });

  it('stops at once when aborted', async () => {
    const controller = new AbortController();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const download = downloadArtifact({ url: artifacts.put('held', body, { gate }), destination: part(), maxBytes: body.length, retries: 3, signal: controller.signal });
    controller.abort(new Error('stopping'));
    await expect(download).rejects.toThrow('stopping');
    release();
  });

  it('redacts the query string of a URL', () => {
    expect(redact('http://h/a?sig=x')).toBe('http://h/a?…');
    expect(redact('http://h/a')).toBe('http://h/a');
  });
});

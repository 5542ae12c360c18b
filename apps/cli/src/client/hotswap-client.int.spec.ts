import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@hotswap/infrastructure/testing';
import { ApiError, HotSwapClient, UnreachableError } from './hotswap-client.js';
import { multipartBody } from './multipart.js';

const servers: Server[] = [];
const dirs: string[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function tempFile(bytes: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-client-'));
  dirs.push(dir);
  const path = join(dir, 'model.bin');
  await writeFile(path, bytes);
  return path;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => { s.closeAllConnections(); s.close(resolve); })));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('HotSwapClient.upload', () => {
  it('streams the file with back-pressure: while the server reads nothing, the client reads no more than a few MB of a 96 MB file', async () => {
    const sizeBytes = 96 * 1024 * 1024;
    const path = await tempFile(Buffer.alloc(sizeBytes, 7));
    let received = 0;
    let request: IncomingMessage | undefined;
    const url = await serve((req, res) => {
      request = req;
      // The server takes nothing at first: the socket and stream buffers fill, and the client must stop reading the file.
      req.pause();
      req.on('data', (chunk: Buffer) => (received += chunk.length));
      req.on('end', () => res.end('{"ok":true}'));
    });
    let sent = 0;
    const body = multipartBody([['name', 'big']], { field: 'artifact', path, sizeBytes, filename: 'model.bin' }, (n) => (sent += n));
    const upload = new HotSwapClient(url, undefined).upload('/upload', body);
    // Read from the file while the server holds back: what the buffers on the way hold, not the file.
    let stalledAt = -1;
    // Under load the connection may take a while: only a client that has started sending can stall.
    for (let i = 0; i < 200 && (stalledAt !== sent || request === undefined || sent === 0); i++) {
      stalledAt = sent;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sent).toBe(stalledAt);
    expect(sent).toBeLessThan(16 * 1024 * 1024);
    request!.resume();
    await expect(upload).resolves.toEqual({ ok: true });
    expect(sent).toBe(sizeBytes);
    expect(received).toBe(body.contentLength);
  }, 30_000);

  it('frames fields and file as multipart/form-data with the exact Content-Length', async () => {
    const path = await tempFile(Buffer.from('model-bytes'));
    let seen: { headers: IncomingMessage['headers']; text: string } | undefined;
    const url = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen = { headers: req.headers, text: Buffer.concat(chunks).toString('utf8') };
        res.end('{}');
      });
    });
    const body = multipartBody([['name', 'a"b'], ['version', '1.0.0']], { field: 'artifact', path, sizeBytes: 11, filename: 'we"ird\nname.onnx' });
    await new HotSwapClient(url, 'tok').upload('/u', body);
    const boundary = /boundary=(\S+)$/.exec(seen!.headers['content-type']!)![1];
    expect(seen!.headers['authorization']).toBe('Bearer tok');
    expect(Number(seen!.headers['content-length'])).toBe(Buffer.byteLength(seen!.text));
    expect(seen!.text).toBe([
      `--${boundary}`, 'Content-Disposition: form-data; name="name"', '', 'a"b',
      `--${boundary}`, 'Content-Disposition: form-data; name="version"', '', '1.0.0',
      `--${boundary}`, 'Content-Disposition: form-data; name="artifact"; filename="we%22ird%0Aname.onnx"', 'Content-Type: application/octet-stream', '', 'model-bytes',
      `--${boundary}--`, '',
    ].join('\r\n'));
  });

  it('reports the answer of a server that refuses the upload before the body is done (413), and stops sending', async () => {
    const path = await tempFile(Buffer.alloc(64 * 1024 * 1024, 1));
    let received = 0;
    const url = await serve((req, res) => {
      req.on('data', (chunk: Buffer) => (received += chunk.length));
      res.writeHead(413, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ statusCode: 413, error: 'Payload Too Large', message: 'the model file is larger than 1024 bytes' }));
    });
    const body = multipartBody([], { field: 'artifact', path, sizeBytes: 64 * 1024 * 1024, filename: 'm' });
    const failure = await new HotSwapClient(url, undefined).upload('/u', body).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 413, message: 'the model file is larger than 1024 bytes' });
    expect(body.stream.destroyed).toBe(true);
    expect(received).toBeLessThan(body.contentLength);
  });

  it('says HotSwap cannot be reached when nothing listens', async () => {
    const path = await tempFile(Buffer.from('x'));
    const url = `http://127.0.0.1:${await freePort()}`;
    const failure = await new HotSwapClient(url, undefined).upload('/u', multipartBody([], { field: 'artifact', path, sizeBytes: 1, filename: 'm' })).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UnreachableError);
    expect((failure as Error).message).toBe(`cannot reach HotSwap at ${url}: is it running? (npm start)`);
  });

  it('fails, naming the file, when the file does not hold the size it was announced with', async () => {
    const path = await tempFile(Buffer.alloc(1000, 1));
    const url = await serve((req, res) => {
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    for (const sizeBytes of [999, 1001]) {
      const failure = await new HotSwapClient(url, undefined).upload('/u', multipartBody([], { field: 'artifact', path, sizeBytes, filename: 'm' })).catch((e: unknown) => e);
      expect((failure as Error).message).toBe(`${path} changed size while it was being uploaded (${sizeBytes} bytes expected)`);
    }
  });
});

describe('HotSwapClient JSON calls', () => {
  it('turns an error body into ApiError with the API\'s message, and a non-JSON one into its text', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/json') {
        res.writeHead(409, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ statusCode: 409, error: 'Conflict', message: 'model a-1.0.0 already exists' }));
      } else if (req.url === '/list') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: ['limit must be an integer', 'offset must be >= 0'] }));
      } else {
        res.writeHead(502);
        res.end('Bad gateway from a proxy');
      }
    });
    const client = new HotSwapClient(`${url}/`, undefined);
    await expect(client.get('/json')).rejects.toMatchObject({ status: 409, message: 'model a-1.0.0 already exists' });
    await expect(client.get('/list')).rejects.toMatchObject({ status: 400, message: 'limit must be an integer; offset must be >= 0' });
    await expect(client.post('/text', {})).rejects.toMatchObject({ status: 502, message: 'Bad gateway from a proxy' });
  });

  it('describes a connection that breaks off as such, not as a server that is not running', async () => {
    const url = await serve((req) => req.socket.destroy());
    const failure = await new HotSwapClient(url, undefined).get('/x').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UnreachableError);
    expect((failure as Error).message).toMatch(new RegExp(`^the connection to HotSwap at ${url} failed: `));
  });
});

/**
 * A real HTTP server on a free loopback port that serves artifacts the way a signed-URL store does
 * (200 for the whole file, 206 for `Range: bytes=N-`), with faults that tests switch on per path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ArtifactFaults {
  /** Cut the connection of the first `times` responses after this many body bytes. */
  readonly cutAfterBytes?: number;
  /** How many responses to cut. Default 1. */
  readonly times?: number;
  /** Answer with this status and no body. */
  readonly status?: number;
  /** Do not send Content-Length (chunked), so the client cannot know the size in advance. */
  readonly chunked?: boolean;
  /** Hold every response until this settles (a slow network), to keep a swap running. */
  readonly gate?: Promise<void>;
}

export interface ServedRequest {
  readonly path: string;
  readonly range?: string;
  readonly status: number;
}

export class ArtifactServer {
  readonly requests: ServedRequest[] = [];
  private readonly files = new Map<string, { body: Buffer; faults: ArtifactFaults; cut: number }>();

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<ArtifactServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const artifacts = new ArtifactServer(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => void artifacts.handle(req, res));
    return artifacts;
  }

  /** Serves `body` at `/artifacts/<name>` and returns its URL (with a query, like a signed URL). */
  put(name: string, body: Buffer, faults: ArtifactFaults = {}): string {
    this.files.set(`/artifacts/${name}`, { body, faults, cut: 0 });
    return `${this.baseUrl}/artifacts/${name}?expires=9999999999&sig=test`;
  }

  requestsFor(name: string): ServedRequest[] {
    return this.requests.filter((r) => r.path === `/artifacts/${name}`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.baseUrl).pathname;
    const range = req.headers.range;
    const file = this.files.get(path);
    const record = (status: number) => this.requests.push({ path, range, status });
    if (file === undefined) {
      record(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (file.faults.gate) await file.faults.gate;
    if (file.faults.status !== undefined) {
      record(file.faults.status);
      res.writeHead(file.faults.status).end();
      return;
    }
    const match = range ? /^bytes=(\d+)-$/.exec(range) : null;
    const start = match ? Number(match[1]) : 0;
    const body = file.body.subarray(start);
    const status = match ? 206 : 200;
    record(status);
    const head: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    if (!file.faults.chunked) head['content-length'] = body.length;
    if (match) head['content-range'] = `bytes ${start}-${file.body.length - 1}/${file.body.length}`;
    res.writeHead(status, head);
    const { cutAfterBytes, times = 1 } = file.faults;
    if (cutAfterBytes !== undefined && file.cut < times) {
      file.cut++;
      // Send part of the body, then drop the connection as a flaky network would.
      res.write(body.subarray(0, cutAfterBytes), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }
}

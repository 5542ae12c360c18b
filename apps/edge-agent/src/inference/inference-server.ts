/**
 * `POST /infer` for the device's own applications, on a local port (127.0.0.1 unless configured
 * otherwise): the active model answers, and the reply names it. Errors are
 * `{ statusCode, error, message }` like the control plane's API: 400 for a body the model cannot
 * take (named field), 503 while no model is loaded, 500 when the model fails.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { InferenceError, NoModelLoadedError } from '../agent/errors.js';
import type { InputSpec, TensorData, Feeds } from '../swap/tensors.js';
import type { Label } from '../telemetry/label.js';
import { parseInferenceRequest, tensorToJson } from './inference-request.js';

/** Bodies beyond this are refused with 413. */
export const MAX_INFER_BODY_BYTES = 16 * 1024 * 1024;

export interface ServedModel {
  readonly modelId: string;
  readonly name: string;
  readonly version: string;
  readonly inputs: readonly InputSpec[];
}

/** What the server needs of the agent. */
export interface InferenceBackend {
  readonly deviceId: string;
  servedModel(): ServedModel | undefined;
  inferTensors(feeds: Feeds, options: { label?: Label; transfer?: boolean }): Promise<{ modelId: string; outputs: Record<string, TensorData>; latencyMs: number; correct?: boolean }>;
}

export class InferenceServer {
  private constructor(
    private readonly server: Server,
    /** e.g. `http://127.0.0.1:43121` */
    readonly url: string,
  ) {}

  static async start(backend: InferenceBackend, host: string, port: number): Promise<InferenceServer> {
    const server = createServer((req, res) => void handle(backend, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return new InferenceServer(server, `http://${shownHost}:${address.port}`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function handle(backend: InferenceBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/infer') return send(res, 404, `no route ${req.method} ${path}; use POST /infer`);
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return send(res, 405, `${req.method} is not allowed on /infer; use POST`);
  }
  let text: string;
  try {
    text = await readBody(req);
  } catch (err) {
    // The rest of the body is not read: answer, then drop the connection.
    res.setHeader('connection', 'close');
    res.on('finish', () => req.destroy());
    return send(res, 413, (err as Error).message);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return send(res, 400, `malformed JSON: ${(err as Error).message}`);
  }
  const model = backend.servedModel();
  if (model === undefined) return send(res, 503, `device ${backend.deviceId} has no active model`);
  const parsed = parseInferenceRequest(body, model.inputs);
  if (!parsed.ok) return send(res, 400, parsed.message);
  try {
    const result = await backend.inferTensors(parsed.value.feeds, { label: parsed.value.label, transfer: true });
    const answered = backend.servedModel()?.modelId === result.modelId ? backend.servedModel() : undefined;
    const outputs = Object.fromEntries(Object.entries(result.outputs).map(([name, t]) => [name, tensorToJson(t)]));
    sendJson(res, 200, {
      modelId: result.modelId,
      ...(answered ? { name: answered.name, version: answered.version } : {}),
      outputs,
      latencyMs: Math.round(result.latencyMs * 1000) / 1000,
      ...(result.correct !== undefined ? { correct: result.correct } : {}),
    });
  } catch (err) {
    if (err instanceof NoModelLoadedError) return send(res, 503, err.message);
    const cause = err instanceof InferenceError && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    send(res, 500, `${(err as Error).message}${cause}`);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_INFER_BODY_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        reject(new Error(`the body exceeds ${MAX_INFER_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, statusCode: number, message: string): void {
  sendJson(res, statusCode, { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message });
}

function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

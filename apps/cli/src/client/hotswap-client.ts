import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { MultipartBody } from './multipart.js';

/** The API answered with an error status; `message` is the API's own (`{ statusCode, error, message }`). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    /** The parsed error body, when it was JSON. */
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** No HTTP answer at all: nothing listens at the URL, the name does not resolve, the connection broke. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  constructor(
    readonly url: string,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** Causes that mean "no HotSwap there" rather than "it broke off mid-request". */
const NOT_LISTENING = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

export type QueryValue = string | number | undefined;

/** A thin client of the HotSwap REST API (`/api/v1`): fetch for JSON calls, `node:http` for uploads. */
export class HotSwapClient {
  constructor(
    /** Base URL of the gateway, e.g. `http://127.0.0.1:8080` (no trailing slash needed). */
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  get<T>(path: string, query: Readonly<Record<string, QueryValue>> = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
    const qs = search.size > 0 ? `?${search.toString()}` : '';
    return this.send<T>(`${path}${qs}`, { method: 'GET' });
  }

  post<T>(path: string, json: unknown): Promise<T> {
    return this.send<T>(path, { method: 'POST', body: JSON.stringify(json), headers: { 'content-type': 'application/json' } });
  }

  /**
   * POSTs a streamed multipart body over `node:http`, whose socket backpressure keeps the client's
   * memory flat. (Node 20's fetch reads a stream body as fast as it can produce it: a 500 MB upload
   * held ~500 MB.) The Content-Length is exact, so the server knows the size before the bytes.
   */
  upload<T>(path: string, body: MultipartBody): Promise<T> {
    const url = this.url(path);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      let failure: unknown;
      let responded = false;
      const req = request(url, {
        method: 'POST',
        headers: { ...this.headers(), 'content-type': body.contentType, 'content-length': String(body.contentLength) },
      }, (response) => {
        responded = true;
        readResponse(response).then(({ status, text }) => {
          try {
            resolve(this.settle<T>(status, response.statusMessage ?? '', text));
          } catch (error) {
            // Refused while the body was still going out (413): sending the rest is pointless.
            body.stream.destroy();
            req.destroy();
            reject(error);
          }
        }, (error: unknown) => reject(networkError(this.baseUrl, error)));
      });
      req.on('error', (error) => {
        failure ??= error;
      });
      // Closed without an answer: the file could not be read, or the network failed; say which.
      req.on('close', () => {
        if (!responded) reject(failure instanceof SourceError ? failure.cause : networkError(this.baseUrl, failure));
      });
      body.stream.on('error', (error) => {
        failure = new SourceError(error);
      });
      pipeline(body.stream, req).catch((error: unknown) => {
        failure ??= error;
      });
    });
  }

  private async send<T>(path: string, init: RequestInit): Promise<T> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url(path), { ...init, headers: { ...this.headers(), ...init.headers } });
      text = await response.text();
    } catch (error) {
      throw networkError(this.baseUrl, error);
    }
    return this.settle<T>(response.status, response.statusText, text);
  }

  private url(path: string): URL {
    return new URL(path, `${this.baseUrl.replace(/\/+$/, '')}/`);
  }

  private headers(): Record<string, string> {
    return { accept: 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) };
  }

  private settle<T>(status: number, statusText: string, text: string): T {
    const body = parseJson(text);
    if (status < 200 || status >= 300) throw new ApiError(status, errorMessage(body, text, statusText), body);
    return body as T;
  }
}

/** The upload's own body failed (the file could not be read); not a network problem. */
class SourceError extends Error {
  constructor(override readonly cause: unknown) {
    super('the upload body failed', { cause });
  }
}

async function readResponse(response: IncomingMessage): Promise<{ status: number; text: string }> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') };
}

function networkError(baseUrl: string, error: unknown): UnreachableError {
  // fetch wraps the socket error as its `cause`; node:http gives it directly.
  const wrapped = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const cause = wrapped ?? (error as { code?: string; message?: string } | undefined);
  if (cause?.code !== undefined && NOT_LISTENING.has(cause.code)) {
    return new UnreachableError(baseUrl, `cannot reach HotSwap at ${baseUrl}: is it running? (npm start)`, { cause: error });
  }
  const reason = cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new UnreachableError(baseUrl, `the connection to HotSwap at ${baseUrl} failed: ${reason}`, { cause: error });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorMessage(body: unknown, text: string, statusText: string): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string' && message !== '') return message;
  if (Array.isArray(message)) return message.join('; ');
  return text.trim().slice(0, 200) || statusText || 'no message';
}

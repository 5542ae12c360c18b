/**
 * Streams an artifact to disk over `node:http(s)`, resuming with `Range` after a dropped connection and
 * retrying with exponential backoff. The manifest's size bounds it: a server that sends more is cut
 * off, so a hostile or broken URL cannot fill the device's disk.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DownloadOptions {
  readonly url: string;
  /** The `.part` file to write; bytes already in it are resumed with a `Range` request. */
  readonly destination: string;
  /** The manifest's `sizeBytes`: the download is refused beyond it. */
  readonly maxBytes: number;
  /** Further attempts after the first one fails for a transient reason. */
  readonly retries: number;
  /** First backoff delay, in ms; doubles per retry. Default 200. */
  readonly backoffBaseMs?: number;
  /** Upper bound of one backoff delay, in ms. Default 5000. */
  readonly backoffMaxMs?: number;
  /** Bytes free where `destination` lives; checked before each attempt. */
  readonly freeBytes?: () => Promise<number>;
  /** Aborts the download (the agent is stopping). */
  readonly signal?: AbortSignal;
  /** Called before each backoff, for logging. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

export interface DownloadResult {
  /** Bytes in the file at the end. */
  readonly bytes: number;
  /** HTTP requests made. */
  readonly attempts: number;
  /** Whether any request resumed a partial file with `Range`. */
  readonly resumed: boolean;
  /** SHA-256 (hex) of the whole file, computed while it streamed (a resumed prefix is re-read). */
  readonly sha256: string;
}

export class DownloadError extends Error {
  override readonly name: string = 'DownloadError';
  /** Whether another attempt may succeed (network error, 5xx) or not (404, oversize, no space). */
  readonly retryable: boolean;
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
  }
}

export class ArtifactTooLargeError extends DownloadError {
  override readonly name = 'ArtifactTooLargeError';
  constructor(maxBytes: number, seen: string) {
    super(`artifact is larger than the manifest's sizeBytes ${maxBytes} (${seen})`, { retryable: false });
  }
}

export class InsufficientDiskSpaceError extends DownloadError {
  override readonly name = 'InsufficientDiskSpaceError';
  constructor(needed: number, free: number) {
    super(`insufficient disk space: ${needed} bytes needed, ${free} free`, { retryable: false });
  }
}

export async function downloadArtifact(options: DownloadOptions): Promise<DownloadResult> {
  const { url, destination, maxBytes, retries, signal } = options;
  const baseMs = options.backoffBaseMs ?? 200;
  const maxMs = options.backoffMaxMs ?? 5000;
  await mkdir(dirname(destination), { recursive: true });
  let attempts = 0;
  let resumed = false;
  for (;;) {
    signal?.throwIfAborted();
    const have = await resumeOffset(destination, maxBytes, options.freeBytes);
    if (have === maxBytes) return { bytes: have, attempts, resumed, sha256: (await hashPrefix(destination, have)).digest('hex') };
    attempts++;
    try {
      if (have > 0) resumed = true;
      const { bytes, sha256 } = await attempt(url, destination, have, maxBytes, signal);
      return { bytes, attempts, resumed, sha256 };
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      const retryable = err instanceof DownloadError ? err.retryable : true;
      if (!retryable) {
        if (err instanceof ArtifactTooLargeError) await rm(destination, { force: true });
        throw err;
      }
      if (attempts > retries) {
        throw new DownloadError(`download of ${redact(url)} failed after ${attempts} attempts: ${messageOf(err)}`, { retryable: true, cause: err });
      }
      const delayMs = Math.min(baseMs * 2 ** (attempts - 1), maxMs);
      options.onRetry?.({ attempt: attempts, delayMs, error: err });
      await sleep(delayMs, undefined, { signal });
    }
  }
}

/** One HTTP request; returns the file's size and SHA-256 once the response body has been written. */
async function attempt(url: string, destination: string, have: number, maxBytes: number, signal?: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const res = await get(url, have > 0 ? { range: `bytes=${have}-` } : {}, signal);
  const status = res.statusCode ?? 0;
  const contentRange = res.headers['content-range'];
  let offset: number;
  if (status === 206 && have > 0) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange ?? '');
    if (range === null || Number(range[1]) !== have) {
      res.destroy();
      await rm(destination, { force: true });
      throw new DownloadError(`server answered Range bytes=${have}- with content-range ${contentRange ?? null}`, { retryable: true });
    }
    if (range[3] !== '*' && Number(range[3]) > maxBytes) {
      res.destroy();
      throw new ArtifactTooLargeError(maxBytes, `server announced ${range[3]} bytes`);
    }
    offset = have;
  } else if (status === 200) {
    // The server ignored the Range request (or there was none): the body is the whole file.
    offset = 0;
  } else if (status === 416 && have > 0) {
    res.destroy();
    await rm(destination, { force: true });
    throw new DownloadError(`server refused Range bytes=${have}- (416)`, { retryable: true });
  } else {
    res.destroy();
    const retryable = status >= 500 || status === 408 || status === 429;
    throw new DownloadError(`HTTP ${status} ${res.statusMessage ?? ''} for ${redact(url)}`, { retryable });
  }
  const length = res.headers['content-length'];
  if (length !== undefined && offset + Number(length) > maxBytes) {
    res.destroy();
    throw new ArtifactTooLargeError(maxBytes, `server announced ${offset + Number(length)} bytes`);
  }
  let written = offset;
  // Hashed on the way to disk, so verification needs no second read of the file.
  const hash = await hashPrefix(destination, offset);
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      written += chunk.length;
      hash.update(chunk);
      if (written > maxBytes) callback(new ArtifactTooLargeError(maxBytes, `received more than ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
  const sink = createWriteStream(destination, { flags: offset > 0 ? 'a' : 'w' });
  try {
    await pipeline(res, limiter, sink, { signal });
  } catch (err) {
    // The pipeline can fail before the file is even opened or closed: wait for it, or a caller
    // removing the file could see it reappear.
    if (!sink.closed) await new Promise<void>((resolve) => sink.once('close', () => resolve()));
    throw err;
  }
  return { bytes: written, sha256: hash.digest('hex') };
}

const MAX_REDIRECTS = 5;

/**
 * GET with redirects followed (as `fetch` would). `node:http` rather than `fetch`: on a device
 * serving inferences while it swaps, fetch's web streams cost the main thread about a third more
 * CPU per artifact, and their garbage lands in the middle of the swap.
 */
function get(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, redirects = MAX_REDIRECTS): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new DownloadError(`not a URL: ${redact(url)}`, { retryable: false }));
      return;
    }
    const request = target.protocol === 'https:' ? httpsGet : target.protocol === 'http:' ? httpGet : undefined;
    if (request === undefined) {
      reject(new DownloadError(`unsupported protocol ${target.protocol} in ${redact(url)}`, { retryable: false }));
      return;
    }
    request(target, { headers, signal }, (res) => {
      const location = res.headers.location;
      if (res.statusCode !== undefined && [301, 302, 303, 307, 308].includes(res.statusCode) && location !== undefined) {
        res.resume();
        if (redirects === 0) {
          reject(new DownloadError(`more than ${MAX_REDIRECTS} redirects for ${redact(url)}`, { retryable: false }));
          return;
        }
        get(new URL(location, target).toString(), headers, signal, redirects - 1).then(resolve, reject);
        return;
      }
      resolve(res);
    }).on('error', reject);
  });
}

/** A SHA-256 fed with the first `bytes` bytes of the file (none when 0). */
/**
 * Where an interrupted transfer of up to `maxBytes` into `destination` continues: the bytes
 * already on disk (a larger file is a leftover of some other artifact and is removed), once the
 * disk has room for the rest. Shared by the HTTP and the NATS transports.
 */
export async function resumeOffset(destination: string, maxBytes: number, freeBytes?: () => Promise<number>): Promise<number> {
  let have = await sizeOf(destination);
  if (have > maxBytes) {
    await rm(destination, { force: true });
    have = 0;
  }
  if (freeBytes && have < maxBytes) {
    const free = await freeBytes();
    if (free < maxBytes - have) throw new InsufficientDiskSpaceError(maxBytes - have, free);
  }
  return have;
}

export async function hashPrefix(path: string, bytes: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (bytes === 0) return hash;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) hash.update(chunk as Buffer);
  return hash;
}

export async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** Signed URLs carry their credentials in the query string; keep them out of reports and logs. */
export function redact(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}

export function messageOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const e = err as { message: string; cause?: unknown };
    return e.cause === undefined ? e.message : `${e.message} (${messageOf(e.cause)})`;
  }
  return String(err);
}

/**
 * The NATS transport of artifacts: for sites whose only way out is their NATS leaf node. The agent
 * asks for the artifact chunk by chunk on its own `hotswap.device.<id>.artifact` subject (its
 * credentials allow nothing else), keeping at most `window` requests in flight, and appends the
 * chunks in order to the same `.part` file as the HTTP download. After a disconnect it resumes
 * from the bytes on disk; the manifest's size bounds it, and the SHA-256 is computed on the way.
 */
import { open, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { ARTIFACT_CHUNK_HEADERS, DeviceSubjects, type ArtifactChunkRequest } from '@hotswap/contracts';
import {
  ArtifactTooLargeError, DownloadError, hashPrefix, messageOf, resumeOffset, type DownloadResult,
} from './artifact-downloader.js';

export interface NatsDownloadOptions {
  /** The agent's connection now (it is replaced after the client gives up on one); undefined while there is none. */
  readonly connection: () => NatsConnection | undefined;
  readonly deviceId: string;
  readonly modelId: string;
  /** The artifact's key in the control plane's store, from the swap command. */
  readonly artifactKey: string;
  /** The `.part` file to write; bytes already in it are resumed. */
  readonly destination: string;
  /** The manifest's `sizeBytes`: nothing beyond it is asked for or accepted. */
  readonly maxBytes: number;
  /** Bytes per chunk request. */
  readonly chunkBytes: number;
  /** Chunk requests in flight at once (flow control: the responder and the link see no more). */
  readonly window: number;
  /** How long one chunk request may take, in ms. */
  readonly requestTimeoutMs: number;
  /** Further attempts after one that failed for a transient reason without receiving a byte. */
  readonly retries: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** Bytes free where `destination` lives; checked before each attempt. */
  readonly freeBytes?: () => Promise<number>;
  readonly signal?: AbortSignal;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown; offset: number }) => void;
  /** Called when an attempt continues a partial file, with the offset it continues from. */
  readonly onResume?: (offset: number) => void;
}

export interface NatsDownloadResult extends DownloadResult {
  /** Offsets the transfer resumed from (a partial file on disk), in order. */
  readonly resumedFrom: readonly number[];
  /** Chunk requests answered. */
  readonly chunks: number;
}

/** Codes of a refusal worth asking again for; any other (`BAD_REQUEST`, `NOT_FOUND`, `FORBIDDEN`) ends the transfer. */
const TRANSIENT_CODES = new Set(['UNAVAILABLE', 'INTERNAL', 'TIMEOUT']);

export async function downloadArtifactOverNats(options: NatsDownloadOptions): Promise<NatsDownloadResult> {
  const { destination, maxBytes, retries, signal } = options;
  if (!Number.isInteger(options.chunkBytes) || options.chunkBytes < 1) throw new RangeError(`chunkBytes must be an integer >= 1, got ${options.chunkBytes}`);
  if (!Number.isInteger(options.window) || options.window < 1) throw new RangeError(`window must be an integer >= 1, got ${options.window}`);
  const baseMs = options.backoffBaseMs ?? 200;
  const maxMs = options.backoffMaxMs ?? 5000;
  await mkdir(dirname(destination), { recursive: true });
  let attempts = 0;
  let failures = 0;
  let chunks = 0;
  const resumedFrom: number[] = [];
  for (;;) {
    signal?.throwIfAborted();
    const have = await resumeOffset(destination, maxBytes, options.freeBytes);
    if (have === maxBytes) {
      return { bytes: have, attempts, resumed: resumedFrom.length > 0, resumedFrom, chunks, sha256: (await hashPrefix(destination, have)).digest('hex') };
    }
    attempts++;
    if (have > 0) {
      resumedFrom.push(have);
      options.onResume?.(have);
    }
    const progress = { written: have, chunks: 0 };
    try {
      const sha256 = await attempt(options, have, progress);
      chunks += progress.chunks;
      return { bytes: progress.written, attempts, resumed: resumedFrom.length > 0, resumedFrom, chunks, sha256 };
    } catch (err) {
      chunks += progress.chunks;
      if (signal?.aborted) throw signal.reason ?? err;
      const retryable = err instanceof DownloadError ? err.retryable : true;
      if (!retryable) {
        if (err instanceof ArtifactTooLargeError) await rm(destination, { force: true });
        throw err;
      }
      // A link that comes and goes is not a failing transfer: only attempts that moved nothing count.
      failures = progress.written > have ? 1 : failures + 1;
      if (failures > retries) {
        throw new DownloadError(`NATS transfer of ${options.artifactKey} failed after ${failures} attempts without progress: ${messageOf(err)}`, { retryable: true, cause: err });
      }
      const delayMs = Math.min(baseMs * 2 ** (failures - 1), maxMs);
      options.onRetry?.({ attempt: attempts, delayMs, error: err, offset: progress.written });
      await sleep(delayMs, undefined, { signal });
    }
  }
}

/** Transfers from `offset` to the end; returns the whole file's SHA-256. `progress` tracks what reached the disk. */
async function attempt(options: NatsDownloadOptions, offset: number, progress: { written: number; chunks: number }): Promise<string> {
  const { maxBytes, chunkBytes, window, destination } = options;
  const nc = options.connection();
  if (nc === undefined || nc.isClosed()) throw new DownloadError('not connected to NATS', { retryable: true });
  const hash = await hashPrefix(destination, offset);
  const file = await open(destination, offset > 0 ? 'a' : 'w');
  const inFlight = new Map<number, Promise<Buffer>>();
  let next = offset;
  try {
    while (progress.written < maxBytes) {
      while (inFlight.size < window && next < maxBytes) {
        const length = Math.min(chunkBytes, maxBytes - next);
        const request = requestChunk(nc, options, next, length);
        // Rejections are read in order below; one left unread after an earlier failure must not go unhandled.
        request.catch(() => undefined);
        inFlight.set(next, request);
        next += length;
      }
      const at = progress.written;
      const chunk = await (inFlight.get(at) as Promise<Buffer>);
      inFlight.delete(at);
      options.signal?.throwIfAborted();
      await file.write(chunk);
      hash.update(chunk);
      progress.written += chunk.length;
      progress.chunks++;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

async function requestChunk(nc: NatsConnection, options: NatsDownloadOptions, offset: number, length: number): Promise<Buffer> {
  const request: ArtifactChunkRequest = { modelId: options.modelId, artifactKey: options.artifactKey, offset, length };
  let reply: Msg;
  try {
    reply = await nc.request(DeviceSubjects.artifact(options.deviceId), JSON.stringify(request), { timeout: options.requestTimeoutMs });
  } catch (err) {
    throw new DownloadError(`chunk at offset ${offset}: ${messageOf(err)}`, { retryable: true, cause: err });
  }
  const code = reply.headers?.get(ARTIFACT_CHUNK_HEADERS.errorCode);
  if (code) {
    const reason = reply.headers?.get(ARTIFACT_CHUNK_HEADERS.error) || code;
    throw new DownloadError(`the control plane refused the chunk at offset ${offset} (${code}): ${reason}`, { retryable: TRANSIENT_CODES.has(code) });
  }
  const announced = Number(reply.headers?.get(ARTIFACT_CHUNK_HEADERS.size) ?? Number.NaN);
  if (Number.isFinite(announced) && announced > options.maxBytes) throw new ArtifactTooLargeError(options.maxBytes, `the control plane announced ${announced} bytes`);
  if (Number.isFinite(announced) && announced < options.maxBytes) {
    throw new DownloadError(`size mismatch: the control plane's artifact is ${announced} bytes, the manifest says ${options.maxBytes}`, { retryable: false });
  }
  const data = reply.data;
  if (data.length > length) throw new ArtifactTooLargeError(options.maxBytes, `the chunk at offset ${offset} has ${data.length} bytes, ${length} were asked for`);
  if (data.length < length) {
    throw new DownloadError(`short chunk at offset ${offset}: ${data.length} bytes, ${length} were asked for`, { retryable: false });
  }
  // A copy: the chunk may wait behind earlier ones while the client reuses its read buffers.
  return Buffer.from(data);
}

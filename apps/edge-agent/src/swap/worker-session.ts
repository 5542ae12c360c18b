/**
 * An onnxruntime session on its own worker thread. onnxruntime-node runs `InferenceSession.create`
 * and `run` on the calling JS thread, so a session loaded or warmed on the main thread would stall
 * every request served meanwhile; here each session owns a thread, and loading the next model
 * never blocks inferences on the current one. Messages are `{ id, op }` requests answered by
 * `{ id, ok, value | error }`.
 */
import { MessageChannel, Worker, type MessagePort, type Transferable } from 'node:worker_threads';
import type { SessionOptions } from './model-loader.js';
import { transferables, type Feeds, type InputSpec, type TensorData } from './tensors.js';

/** The worker script: plain ESM next to this file in src/ and in dist/. */
export const SESSION_WORKER_URL = new URL('./session-worker.mjs', import.meta.url);

/** A loaded model that runs inferences; implemented by WorkerSession. */
export interface ModelSession {
  readonly inputs: readonly InputSpec[];
  readonly outputNames: readonly string[];
  /** With `transfer`, the feeds' buffers move to the worker and become unusable to the caller. */
  run(feeds: Feeds, transfer?: boolean): Promise<Record<string, TensorData>>;
  /**
   * The session is about to serve: its thread, niced while it loaded and warmed, goes back to
   * normal priority. False when the process may not raise a thread's priority (unprivileged).
   */
  serve?(): Promise<boolean>;
  release(): Promise<void>;
}

/** The session's thread failed: the model did not load, a run failed, or the thread died. */
export class SessionWorkerError extends Error {
  override readonly name = 'SessionWorkerError';
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { name: string; message: string };
}

export class WorkerSession implements ModelSession {
  /** The nice value of the session's thread while it loaded (10 on Linux: loads yield to the serving thread). */
  loadedAtNice = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead: Error | undefined;
  private releasing: Promise<void> | undefined;
  inputs: readonly InputSpec[] = [];
  outputNames: readonly string[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new SessionWorkerError(reply.error?.message ?? 'unknown error'));
    });
    worker.on('error', (err) => this.fail(new SessionWorkerError(`session thread crashed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => this.fail(new SessionWorkerError(`session thread exited with code ${code}`)));
  }

  /**
   * Loads the model on `thread` (a started session thread, see SpareThread) or on a new one.
   * @throws SessionWorkerError when it does not load.
   */
  static async open(path: string, options: SessionOptions = {}, thread: Worker = startSessionThread()): Promise<WorkerSession> {
    const session = new WorkerSession(thread);
    try {
      const meta = (await session.call({ op: 'load', path, options })) as { inputs: InputSpec[]; outputNames: string[]; nice: number };
      session.loadedAtNice = meta.nice;
      session.inputs = meta.inputs;
      session.outputNames = meta.outputNames;
      return session;
    } catch (err) {
      await session.worker.terminate();
      throw err;
    }
  }

  run(feeds: Feeds, transfer = false): Promise<Record<string, TensorData>> {
    return this.call({ op: 'run', feeds }, transfer ? transferables(feeds) : []) as Promise<Record<string, TensorData>>;
  }

  /**
   * A port to the session's thread that takes `{ id, op: 'run', feeds }` and answers like the
   * thread does, for a caller on another thread that must not go through this one.
   */
  async openPort(): Promise<MessagePort> {
    const { port1, port2 } = new MessageChannel();
    await this.call({ op: 'port', port: port2 }, [port2]);
    return port1;
  }

  async serve(): Promise<boolean> {
    return ((await this.call({ op: 'serve' })) as { restored: boolean }).restored;
  }

  /** Releases the session, then ends the thread; later calls return the same promise. */
  release(): Promise<void> {
    this.releasing ??= (async () => {
      if (this.dead === undefined) await this.call({ op: 'release' }).catch(() => undefined);
      await this.worker.terminate();
    })();
    return this.releasing;
  }

  private call(request: Record<string, unknown>, transfer: readonly Transferable[] = []): Promise<unknown> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id }, [...transfer]);
    });
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }
}

/** A new session thread (it imports onnxruntime at once, then waits for a model). */
export function startSessionThread(): Worker {
  // No inherited flags: the script needs none, and some (--input-type, loader hooks) break it.
  return new Worker(SESSION_WORKER_URL, { execArgv: [] });
}

/**
 * One session thread started ahead of need: starting a thread and importing onnxruntime is most of
 * a small model's load time (~30 ms), so a swap that takes the spare skips it. The next spare
 * starts `refillDelayMs` after one is taken, off the swap's critical path.
 */
export class SpareThread {
  private spare: Worker | undefined;
  private refill: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly refillDelayMs = 250) {}

  /** The spare (started now if there is none); the caller owns it. */
  take(): Worker {
    const thread = this.spare ?? startSessionThread();
    this.spare = undefined;
    thread.ref();
    if (!this.closed && this.refill === undefined) {
      this.refill = setTimeout(() => {
        this.refill = undefined;
        if (this.closed || this.spare !== undefined) return;
        const spare = startSessionThread();
        // A spare that died is forgotten (a session on it would wait forever).
        const forget = () => {
          if (this.spare === spare) this.spare = undefined;
        };
        spare.on('error', forget).once('exit', forget);
        // An idle spare must not keep the process alive.
        spare.unref();
        this.spare = spare;
      }, this.refillDelayMs).unref();
    }
    return thread;
  }

  /** Ends the spare; later takes start threads on demand. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refill);
    const spare = this.spare;
    this.spare = undefined;
    await spare?.terminate();
  }
}

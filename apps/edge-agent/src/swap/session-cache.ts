/**
 * Loaded sessions by content: a model whose bytes hash the same is loaded once and shared, by the
 * simulated devices of one process and by one device going back to a model it still holds.
 * Reference counted; a session is released when its last lease is.
 */
import { SpareThread, WorkerSession, type ModelSession } from './worker-session.js';
import type { SessionOptions } from './model-loader.js';

export interface SessionLease {
  readonly session: ModelSession;
  /** Gives the lease back; the session is released with the last one. Idempotent. */
  release(): Promise<void>;
}

export type SessionOpener = (path: string, options: SessionOptions) => Promise<ModelSession>;

interface Entry {
  readonly session: Promise<ModelSession>;
  refs: number;
}

export interface SessionCacheOptions {
  /** How sessions are loaded. Default: on their own thread (WorkerSession), from a spare thread. */
  readonly open?: SessionOpener;
}

export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly spare = new SpareThread();
  private readonly open: SessionOpener;

  constructor(options: SessionCacheOptions = {}) {
    this.open = options.open ?? ((path, sessionOptions) => WorkerSession.open(path, sessionOptions, this.spare.take()));
  }

  /** Ends the spare thread; sessions still leased stay until released. */
  async close(): Promise<void> {
    await this.spare.close();
  }

  /** Sessions loaded or loading. */
  get size(): number {
    return this.entries.size;
  }

  /** Leases held on the session for `sha256` (0 when none is loaded). */
  refs(sha256: string, options: SessionOptions = {}): number {
    return this.entries.get(cacheKey(sha256, options))?.refs ?? 0;
  }

  /**
   * A lease on the session for the artifact with this SHA-256, loading it from `path` unless it is
   * loaded or loading already. @throws what the opener throws (nothing stays cached then).
   */
  async acquire(sha256: string, path: string, options: SessionOptions = {}): Promise<SessionLease> {
    const key = cacheKey(sha256, options);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const created: Entry = { session: this.open(path, options), refs: 0 };
      created.session.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      this.entries.set(key, created);
      entry = created;
    }
    entry.refs++;
    let session: ModelSession;
    try {
      session = await entry.session;
    } catch (err) {
      entry.refs--;
      throw err;
    }
    const held = entry;
    let released: Promise<void> | undefined;
    return {
      session,
      release: () =>
        (released ??= (async () => {
          held.refs--;
          if (held.refs > 0) return;
          if (this.entries.get(key) === held) this.entries.delete(key);
          await session.release();
        })()),
    };
  }
}

/** Session options change the session, so they are part of the key. */
function cacheKey(sha256: string, options: SessionOptions): string {
  return `${sha256}:${JSON.stringify(options)}`;
}

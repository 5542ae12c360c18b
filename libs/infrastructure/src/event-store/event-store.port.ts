/**
 * The event store port. Every adapter (JetStream, EventStoreDB) implements it and passes the one
 * contract suite in `event-store.contract.ts`.
 */

/** An event as the domain produces it: `type` in the past tense, JSON `data`. */
export interface NewEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  /** Actor, trace id, correlation ids... anything that is not domain data. */
  readonly metadata?: Record<string, unknown>;
}

/** An event as it was stored. */
export interface StoredEvent extends NewEvent {
  readonly stream: string;
  /** 1-based version of this event inside its stream. */
  readonly streamVersion: number;
  /**
   * Global, monotonically increasing position of the commit that holds this event
   * (JetStream stream sequence; EventStoreDB commit position). Projections checkpoint it.
   */
  readonly position: bigint;
  /** Id of the commit (one `append` call): the dedupe key. */
  readonly commitId: string;
  /** ISO 8601 time the commit was stored. */
  readonly recordedAt: string;
}

/** `expectedVersion`: the stream's current version (0 = the stream must not exist yet), or 'any'. */
export type ExpectedVersion = number | 'any';

export interface AppendOptions {
  /** Idempotency key: appending the same commit id twice stores the events once. */
  readonly commitId?: string;
}

export interface AppendResult {
  /** The stream version after the append (the version of its last event). */
  readonly nextVersion: number;
  readonly position: bigint;
}

export interface Subscription {
  /** Stops delivery; resolves once no handler call is running. */
  close(): Promise<void>;
}

export interface SubscribeAllOptions {
  /** Deliver commits whose position is strictly greater than this (0n = from the beginning). */
  readonly fromPosition: bigint;
  /**
   * Called for each commit, in position order, with all events of that commit. The next commit is
   * delivered only after the returned promise resolves; a rejection stops the subscription and
   * is reported to `onError`. So does a stored commit that cannot be decoded (CorruptCommitError).
   * Outages do not: the adapter re-subscribes from the last delivered position by itself.
   */
  readonly onCommit: (events: readonly StoredEvent[]) => Promise<void>;
  readonly onError?: (error: unknown) => void;
}

export interface EventStore {
  /**
   * Appends `events` atomically as one commit.
   * @throws ConcurrencyError when the stream's version is not `expectedVersion`.
   */
  append(stream: string, events: readonly NewEvent[], expectedVersion: ExpectedVersion, options?: AppendOptions): Promise<AppendResult>;
  /** All events of a stream in order; an empty array for a stream that does not exist. */
  readStream(stream: string, options?: { fromVersion?: number }): Promise<StoredEvent[]>;
  /** Catch-up subscription over all streams, then live. */
  subscribeAll(options: SubscribeAllOptions): Promise<Subscription>;
  close(): Promise<void>;
}

export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly stream: string,
    readonly expectedVersion: ExpectedVersion,
    readonly actualVersion: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`stream ${stream}: expected version ${String(expectedVersion)}, actual ${actualVersion ?? 'unknown'}`, options);
  }
}


/** The stream name cannot be stored by this adapter (JetStream needs `<aggregate>-<id>`). */
export class InvalidStreamNameError extends Error {
  override readonly name = 'InvalidStreamNameError';
  constructor(
    readonly stream: string,
    reason: string,
  ) {
    super(`invalid stream name "${stream}": ${reason}`);
  }
}

/** The arguments of an `append` are unusable (no events, a bad expected version, a reused commit id...). */
export class InvalidAppendError extends Error {
  override readonly name = 'InvalidAppendError';
}

/**
 * The store did not confirm an append (server down, timeout). The commit may or may not be stored:
 * retry with the same `commitId`, which the store deduplicates.
 */
export class EventStoreUnavailableError extends Error {
  override readonly name = 'EventStoreUnavailableError';
  constructor(
    message: string,
    readonly commitId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A stored record is not a commit this store wrote (foreign or corrupt message). */
export class CorruptCommitError extends Error {
  override readonly name = 'CorruptCommitError';
  constructor(
    message: string,
    readonly position: bigint | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

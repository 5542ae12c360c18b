/**
 * The EventStoreDB adapter (`@eventstore/db-client`). Streams map 1:1; stream version n is
 * revision n-1. A commit is one `appendToStream` call; each of its events carries the commit id,
 * its index and the commit size in metadata (`hotswap:commit`), and a deterministic event id
 * derived from the commit id, which EventStoreDB uses to drop a repeated append. The global
 * position is the commit position in the transaction log.
 */
import {
  EventStoreDBClient,
  excludeSystemEvents,
  jsonEvent,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamSubscription,
} from '@eventstore/db-client';
import { findCommit, validateAppend } from './commit.js';
import {
  ConcurrencyError,
  CorruptCommitError,
  EventStoreUnavailableError,
  InvalidAppendError,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type StoredEvent,
  type SubscribeAllOptions,
  type Subscription,
} from './event-store.port.js';
import {
  CommitGrouper,
  commitEventId,
  expectedRevisionOf,
  toStoredEvent,
  versionOfRevision,
  withCommitMarker,
  withoutMarker,
  type EsdbRecordedEvent,
} from './eventstoredb-mapping.js';

export interface EventStoreDbEventStoreOptions {
  /** Wait before re-subscribing after the subscription broke (server down), in ms. Default 1000. */
  readonly retryDelayMs?: number;
}

export class EventStoreDbEventStore implements EventStore {
  private readonly subscriptions = new Set<EsdbSubscription>();
  private readonly retryDelayMs: number;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly ownsClient = false,
    options: EventStoreDbEventStoreOptions = {},
  ) {
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
  }

  /** Connects with a connection string (`esdb://host:2113?tls=false`); `close()` disposes the client. */
  static connect(connectionString: string, options: EventStoreDbEventStoreOptions = {}): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString), true, options);
  }

  async append(stream: string, events: readonly NewEvent[], expectedVersion: ExpectedVersion, options?: AppendOptions): Promise<AppendResult> {
    const commitId = validateAppend(stream, events, expectedVersion, options);
    const data = events.map((event, index) =>
      jsonEvent({
        id: commitEventId(commitId, index),
        type: event.type,
        data: event.data,
        metadata: withCommitMarker(event.metadata, { id: commitId, index, size: events.length }),
      }),
    );
    try {
      const result = await this.client.appendToStream(stream, data, { expectedRevision: expectedRevisionOf(expectedVersion) });
      // An idempotent (repeated) append reports no position: take it from the stored event.
      const position = result.position?.commit ?? (await this.positionOf(stream, result.nextExpectedRevision));
      return { nextVersion: Number(result.nextExpectedRevision) + 1, position };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const earlier = options?.commitId ? findCommit(await this.readStream(stream), commitId) : undefined;
        if (earlier) return earlier;
        throw new ConcurrencyError(stream, expectedVersion, versionOfRevision(error.actualVersion), { cause: error });
      }
      throw unavailable(`append to ${stream}`, commitId, error);
    }
  }

  async readStream(stream: string, options: { fromVersion?: number } = {}): Promise<StoredEvent[]> {
    const fromVersion = Math.max(1, Math.floor(options.fromVersion ?? 1));
    const events: StoredEvent[] = [];
    try {
      const read = this.client.readStream(stream, { fromRevision: fromVersion === 1 ? START : BigInt(fromVersion - 1) });
      for await (const resolved of read) {
        if (resolved.event) events.push(withoutMarker(toStoredEvent(resolved.event as EsdbRecordedEvent, resolved.commitPosition)));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw unavailable(`read of ${stream}`, undefined, error);
    }
    return events;
  }

  async subscribeAll(options: SubscribeAllOptions): Promise<Subscription> {
    if (typeof options.fromPosition !== 'bigint' || options.fromPosition < 0n) {
      throw new InvalidAppendError(`subscribeAll: fromPosition must be a bigint >= 0n, got ${String(options.fromPosition)}`);
    }
    const subscription = new EsdbSubscription(this.client, options, this.retryDelayMs, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    subscription.run();
    return subscription;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    if (this.ownsClient) await this.client.dispose();
  }

  private async positionOf(stream: string, revision: bigint): Promise<bigint> {
    for await (const resolved of this.client.readStream(stream, { fromRevision: revision, maxCount: 1 })) {
      const position = resolved.event?.position?.commit ?? resolved.commitPosition;
      if (position !== undefined) return position;
    }
    throw new CorruptCommitError(`${stream} has no event at revision ${revision} to take the position from`, undefined);
  }
}

function unavailable(what: string, commitId: string | undefined, error: unknown): unknown {
  if (error instanceof ConcurrencyError || error instanceof CorruptCommitError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const outcome = commitId ? `; commit ${commitId} may or may not be stored, retry with the same commitId` : '';
  return new EventStoreUnavailableError(`${what} failed: EventStoreDB did not answer (${reason})${outcome}`, commitId, { cause: error });
}

/** `$all` without system events, regrouped into commits; re-subscribes from its position when it breaks. */
class EsdbSubscription implements Subscription {
  private position: bigint;
  private current: AllStreamSubscription | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: SubscribeAllOptions,
    private readonly retryDelayMs: number,
    private readonly onClosed: () => void,
  ) {
    this.position = options.fromPosition;
  }

  run(): void {
    this.loop = (async () => {
      while (!this.closed) {
        const grouper = new CommitGrouper();
        const from = this.position;
        this.current = this.client.subscribeToAll({
          fromPosition: from === 0n ? START : { commit: from, prepare: from },
          filter: excludeSystemEvents(),
        });
        try {
          for await (const resolved of this.current) {
            if (this.closed) break;
            const recorded = resolved.event as EsdbRecordedEvent | undefined;
            // A subscription from a commit position starts inside that commit: skip what was delivered.
            if (!recorded) continue;
            const position = recorded.position?.commit ?? resolved.commitPosition;
            if (from > 0n && position !== undefined && position <= from) continue;
            try {
              const commit = grouper.push(toStoredEvent(recorded, resolved.commitPosition));
              if (!commit) continue;
              await this.options.onCommit(commit);
              this.position = commit[0].position;
            } catch (error) {
              this.closed = true;
              this.options.onError?.(error);
              break;
            }
          }
        } catch {
          // The subscription broke (server down, connection lost): re-subscribe below.
        }
        await this.current.unsubscribe().catch(() => undefined);
        if (!this.closed) await this.pause();
      }
      this.onClosed();
    })();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.current?.unsubscribe().catch(() => undefined);
    this.wake?.();
    await this.loop;
    this.onClosed();
  }

  private pause(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.retryDelayMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

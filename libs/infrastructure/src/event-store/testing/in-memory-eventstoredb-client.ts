/**
 * An in-memory stand-in for the parts of `EventStoreDBClient` the adapter uses, following the
 * documented server behaviour: expected revisions, idempotent appends by event id (no position in
 * the result), StreamNotFoundError on reading a missing stream, one commit position per append
 * (distinct prepare positions), `$all` subscriptions exclusive of `fromPosition`, then live.
 * It lets the adapter's logic run where no EventStoreDB server is available; the real contract run
 * needs EVENTSTOREDB_URL.
 */
import { StreamNotFoundError, UnavailableError, WrongExpectedVersionError, type EventStoreDBClient } from '@eventstore/db-client';

interface FakeRecorded {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  created: Date;
  isJson: true;
  data: unknown;
  metadata: unknown;
  position: { commit: bigint; prepare: bigint };
}

interface EventDataLike {
  id: string;
  type: string;
  data: unknown;
  metadata?: unknown;
}

export class InMemoryEventStoreDbClient {
  private readonly all: FakeRecorded[] = [];
  private readonly streams = new Map<string, FakeRecorded[]>();
  private readonly listeners = new Set<() => void>();
  private nextPosition = 100n;
  /** While true every call fails as if the server were down. */
  down = false;
  /** How many subscriptions broke because the server was down. */
  breaks = 0;

  asClient(): EventStoreDBClient {
    return this as unknown as EventStoreDBClient;
  }

  async appendToStream(stream: string, events: EventDataLike[], options: { expectedRevision?: 'any' | 'no_stream' | bigint } = {}) {
    this.assertUp();
    const expected = options.expectedRevision ?? 'any';
    const existing = this.streams.get(stream) ?? [];
    const current = existing.length === 0 ? 'no_stream' : BigInt(existing.length - 1);
    const start = existing.findIndex((e) => e.id === events[0].id);
    const isRepeat = start >= 0 && events.every((e, i) => existing[start + i]?.id === e.id);
    if (isRepeat && (expected === 'any' || (start === 0 ? expected === 'no_stream' : expected === BigInt(start - 1)))) {
      return { success: true, nextExpectedRevision: BigInt(start + events.length - 1), position: undefined };
    }
    if (expected !== 'any' && expected !== current) {
      throw new WrongExpectedVersionError(undefined, { streamName: stream, expected, current });
    }
    const commit = this.nextPosition;
    const recorded = events.map((e, i): FakeRecorded => ({
      streamId: stream,
      id: e.id,
      revision: BigInt(existing.length + i),
      type: e.type,
      created: new Date(),
      isJson: true,
      data: structuredClone(e.data),
      metadata: structuredClone(e.metadata),
      position: { commit, prepare: commit + BigInt(i) * 10n },
    }));
    this.nextPosition += BigInt(events.length) * 10n + 100n;
    this.streams.set(stream, [...existing, ...recorded]);
    this.all.push(...recorded);
    for (const listener of this.listeners) listener();
    return { success: true, nextExpectedRevision: recorded[recorded.length - 1].revision, position: { commit, prepare: commit } };
  }

  readStream(stream: string, options: { fromRevision?: 'start' | bigint; maxCount?: number } = {}) {
    return this.readEvents(stream, options);
  }

  private async *readEvents(stream: string, options: { fromRevision?: 'start' | bigint; maxCount?: number }) {
    this.assertUp();
    const events = this.streams.get(stream);
    if (!events) throw new StreamNotFoundError(undefined, stream);
    const from = options.fromRevision === undefined || options.fromRevision === 'start' ? 0 : Number(options.fromRevision);
    for (const event of events.slice(from, from + (options.maxCount ?? Number.MAX_SAFE_INTEGER))) {
      yield { event, commitPosition: event.position.commit };
    }
  }

  subscribeToAll(options: { fromPosition?: 'start' | { commit: bigint; prepare: bigint } } = {}) {
    const state = { stopped: false, wake: undefined as (() => void) | undefined };
    const from = options.fromPosition === undefined || options.fromPosition === 'start' ? undefined : options.fromPosition;
    const iterator = this.follow(from, state);
    return {
      [Symbol.asyncIterator]: () => iterator,
      async unsubscribe() {
        state.stopped = true;
        state.wake?.();
      },
    };
  }

  private async *follow(from: { commit: bigint; prepare: bigint } | undefined, state: { stopped: boolean; wake: (() => void) | undefined }) {
    this.assertUp();
    const listener = () => state.wake?.();
    this.listeners.add(listener);
    const after = (e: FakeRecorded) => !from || e.position.commit > from.commit || (e.position.commit === from.commit && e.position.prepare > from.prepare);
    let index = this.all.findIndex(after);
    if (index < 0) index = this.all.length;
    try {
      while (!state.stopped) {
        if (this.down) {
          this.breaks++;
          throw new UnavailableError();
        }
        if (index < this.all.length) {
          const event = this.all[index++];
          yield { event, commitPosition: event.position.commit };
        } else {
          await new Promise<void>((resolve) => (state.wake = resolve));
        }
      }
    } finally {
      this.listeners.delete(listener);
    }
  }

  /** Wakes subscriptions, e.g. to let them notice `down`. */
  poke(): void {
    for (const listener of this.listeners) listener();
  }

  async dispose(): Promise<void> {
    this.listeners.clear();
  }

  private assertUp(): void {
    if (this.down) throw new UnavailableError();
  }
}

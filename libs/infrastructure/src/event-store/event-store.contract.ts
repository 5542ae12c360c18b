/**
 * The one contract every EventStore adapter passes. An adapter's `*.int.spec.ts` calls
 * `describeEventStoreContract(name, connect)` with a function that opens a new store on a real
 * backend; the suite closes every store it opened.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  ConcurrencyError,
  InvalidAppendError,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type StoredEvent,
} from './event-store.port.js';

export interface EventStoreContractOptions {
  /** Registers the suite with `describe.skip` (backend not available here). */
  readonly skip?: boolean;
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A stream name unique to this run; ids with dots exercise the subject encoding. */
export function uniqueStream(aggregate = 'contract'): string {
  return `${aggregate}-${randomUUID()}.1.0`;
}

/** Appends at the stream's current version, re-reading after each lost race. */
export async function appendWithRetry(store: EventStore, stream: string, events: readonly NewEvent[]): Promise<{ conflicts: number; nextVersion: number }> {
  for (let conflicts = 0; ; conflicts++) {
    const version = (await store.readStream(stream)).at(-1)?.streamVersion ?? 0;
    try {
      const { nextVersion } = await store.append(stream, events, version);
      return { conflicts, nextVersion };
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
    }
  }
}

const event = (type: string, n: number, metadata?: Record<string, unknown>): NewEvent => ({ type, data: { n }, ...(metadata && { metadata }) });

export function describeEventStoreContract(name: string, connect: () => Promise<EventStore>, options: EventStoreContractOptions = {}): void {
  (options.skip ? describe.skip : describe)(`${name} - event store contract`, () => {
    const opened: EventStore[] = [];
    const open = async () => {
      const store = await connect();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    describe('append and read', () => {
      it('reads back the events of single- and multi-event commits in order, with versions and positions', async () => {
        const store = await open();
        const stream = uniqueStream();
        const first = await store.append(stream, [event('ModelUploaded', 1, { actor: 'alice' })], 0);
        const second = await store.append(stream, [event('ValidationStarted', 2), event('ValidationPassed', 3), event('ModelValidated', 4)], 1);

        expect(first.nextVersion).toBe(1);
        expect(second.nextVersion).toBe(4);
        expect(second.position).toBeGreaterThan(first.position);
        const events = await store.readStream(stream);
        expect(events.map((e) => [e.type, e.data['n'], e.streamVersion, e.stream])).toEqual([
          ['ModelUploaded', 1, 1, stream],
          ['ValidationStarted', 2, 2, stream],
          ['ValidationPassed', 3, 3, stream],
          ['ModelValidated', 4, 4, stream],
        ]);
        expect(events[0].metadata).toEqual({ actor: 'alice' });
        expect(events.map((e) => e.position)).toEqual([first.position, second.position, second.position, second.position]);
        expect(new Set(events.slice(1).map((e) => e.commitId)).size).toBe(1);
        expect(events[0].commitId).not.toBe(events[1].commitId);
        expect(Number.isNaN(Date.parse(events[0].recordedAt))).toBe(false);
      });

      it('reads from a given version', async () => {
        const store = await open();
        const stream = uniqueStream();
        await store.append(stream, [event('A', 1), event('B', 2)], 0);
        await store.append(stream, [event('C', 3)], 2);
        await store.append(stream, [event('D', 4)], 3);

        expect((await store.readStream(stream, { fromVersion: 2 })).map((e) => e.type)).toEqual(['B', 'C', 'D']);
        expect((await store.readStream(stream, { fromVersion: 4 })).map((e) => e.type)).toEqual(['D']);
        expect(await store.readStream(stream, { fromVersion: 5 })).toEqual([]);
      });

      it('reads a stream that does not exist as empty', async () => {
        const store = await open();
        expect(await store.readStream(uniqueStream())).toEqual([]);
      });

      it('appends with expected version any at the end of the stream', async () => {
        const store = await open();
        const stream = uniqueStream();
        expect((await store.append(stream, [event('A', 1)], 'any')).nextVersion).toBe(1);
        expect((await store.append(stream, [event('B', 2), event('C', 3)], 'any')).nextVersion).toBe(3);
        expect((await store.readStream(stream)).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
      });

      it.each<[string, NewEvent[], ExpectedVersion, RegExp]>([
        ['no events', [], 0, /at least one event/],
        ['an event without type', [{ type: '', data: {} }], 0, /event 0 has no type/],
        ['an event whose data is not an object', [{ type: 'A', data: 'x' as unknown as Record<string, unknown> }], 0, /needs an object as data/],
        ['a negative expected version', [event('A', 1)], -1, /expectedVersion must be/],
        ['a fractional expected version', [event('A', 1)], 1.5, /expectedVersion must be/],
      ])('refuses an append with %s', async (_case, events, expectedVersion, message) => {
        const store = await open();
        const stream = uniqueStream();
        await expect(store.append(stream, events, expectedVersion)).rejects.toThrow(InvalidAppendError);
        await expect(store.append(stream, events, expectedVersion)).rejects.toThrow(message);
        expect(await store.readStream(stream)).toEqual([]);
      });
    });

    it('refuses an empty commitId', async () => {
      const store = await open();
      await expect(store.append(uniqueStream(), [event('A', 1)], 0, { commitId: '' })).rejects.toThrow(/commitId must be a non-empty string/);
    });

    describe('optimistic concurrency', () => {
      it('refuses an append at a stale expected version with ConcurrencyError', async () => {
        const store = await open();
        const stream = uniqueStream();
        await store.append(stream, [event('A', 1)], 0);

        const refused = await store.append(stream, [event('B', 2)], 0).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(ConcurrencyError);
        expect(refused).toMatchObject({ stream, expectedVersion: 0, actualVersion: 1 });
        await expect(store.append(stream, [event('B', 2)], 5)).rejects.toThrow(ConcurrencyError);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A']);
      });

      it('lets exactly one of 8 racing writers win each version; the others retry by re-reading', async () => {
        const writers = await Promise.all(Array.from({ length: 8 }, () => open()));
        const stream = uniqueStream();

        const firstRound = await Promise.allSettled(writers.map((store, w) => store.append(stream, [event('Written', w)], 0)));
        expect(firstRound.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const result of firstRound.filter((r) => r.status === 'rejected')) {
          expect((result as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
        }

        const perWriter = 4;
        const outcomes = await Promise.all(
          writers.map(async (store, w) => {
            let conflicts = 0;
            for (let i = 0; i < perWriter; i++) conflicts += (await appendWithRetry(store, stream, [event(`Written-${w}`, i)])).conflicts;
            return conflicts;
          }),
        );

        const events = await writers[0].readStream(stream);
        expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: 1 + 8 * perWriter }, (_, i) => i + 1));
        for (let w = 0; w < writers.length; w++) {
          expect(events.filter((e) => e.type === `Written-${w}`).map((e) => e.data['n'])).toEqual([0, 1, 2, 3]);
        }
        expect(outcomes.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      }, 60_000);
    });

    describe('idempotent append', () => {
      it('stores a commit once when the same commitId is appended twice, and returns the same result', async () => {
        const store = await open();
        const stream = uniqueStream();
        const commitId = randomUUID();
        const events = [event('A', 1), event('B', 2)];

        const first = await store.append(stream, events, 0, { commitId });
        const again = await store.append(stream, events, 0, { commitId });
        const anyVersion = await store.append(stream, events, 'any', { commitId });

        expect(again).toEqual(first);
        expect(anyVersion).toEqual(first);
        const stored = await store.readStream(stream);
        expect(stored.map((e) => [e.type, e.commitId])).toEqual([['A', commitId], ['B', commitId]]);
      });

      it('returns the earlier result for a retried commit even after later commits', async () => {
        const store = await open();
        const stream = uniqueStream();
        const commitId = randomUUID();
        const first = await store.append(stream, [event('A', 1)], 0, { commitId });
        await store.append(stream, [event('B', 2)], 1);

        expect(await store.append(stream, [event('A', 1)], 0, { commitId })).toEqual(first);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B']);
      });
    });

    describe('subscribeAll', () => {
      it('delivers the commits after fromPosition in order, then live ones, one handler call at a time', async () => {
        const store = await open();
        const streams = [uniqueStream(), uniqueStream()];
        const before = await store.append(streams[0], [event('Before', 1)], 0);
        const after = await store.append(streams[1], [event('After', 1), event('After', 2)], 0);

        const received: StoredEvent[][] = [];
        let running = 0;
        let maxRunning = 0;
        const subscription = await store.subscribeAll({
          fromPosition: before.position,
          onCommit: async (events) => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            await new Promise((resolve) => setTimeout(resolve, 5));
            if (streams.includes(events[0].stream)) received.push([...events]);
            running--;
          },
        });
        try {
          const live = await store.append(streams[0], [event('Live', 2)], 1);
          await waitFor(() => received.length === 2, 'the live commit');

          expect(received.map((commit) => commit.map((e) => e.type))).toEqual([['After', 'After'], ['Live']]);
          expect(received.map((commit) => commit[0].position)).toEqual([after.position, live.position]);
          expect(received[0].map((e) => e.streamVersion)).toEqual([1, 2]);
          expect(maxRunning).toBe(1);
        } finally {
          await subscription.close();
        }
      });

      it('delivers every commit from position 0n', async () => {
        const store = await open();
        const stream = uniqueStream();
        const { position } = await store.append(stream, [event('A', 1)], 0);
        const positions: bigint[] = [];
        const subscription = await store.subscribeAll({
          fromPosition: 0n,
          onCommit: async (events) => {
            positions.push(events[0].position);
          },
        });
        try {
          await waitFor(() => positions.includes(position), 'the commit');
          expect([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(positions);
          expect(new Set(positions).size).toBe(positions.length);
        } finally {
          await subscription.close();
        }
      });

      it('stops and reports to onError when the handler rejects', async () => {
        const store = await open();
        const stream = uniqueStream();
        const before = await store.append(uniqueStream(), [event('Before', 0)], 0);
        await store.append(stream, [event('A', 1)], 0);
        const failure = new Error('projection failed');
        const errors: unknown[] = [];
        let calls = 0;
        const failing = await store.subscribeAll({
          fromPosition: before.position,
          onCommit: async () => {
            calls++;
            throw failure;
          },
          onError: (error) => errors.push(error),
        });
        const seen: string[] = [];
        const healthy = await store.subscribeAll({
          fromPosition: before.position,
          onCommit: async (events) => {
            if (events[0].stream === stream) seen.push(...events.map((e) => e.type));
          },
        });
        try {
          await waitFor(() => errors.length === 1, 'the error report');
          await store.append(stream, [event('B', 2)], 1);
          // The healthy subscription proves B was delivered while the failed one stayed stopped.
          await waitFor(() => seen.includes('B'), 'B on the healthy subscription');
          expect(errors).toEqual([failure]);
          expect(calls).toBe(1);
        } finally {
          await failing.close();
          await healthy.close();
        }
      });
    });
  });
}

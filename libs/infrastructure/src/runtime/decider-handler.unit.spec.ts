import { describe, expect, it } from '@jest/globals';
import { ConcurrencyError, CorruptCommitError, type EventStore, type StoredEvent } from '../event-store/event-store.port.js';
import { handleCommands, loadState, StateCache } from './decider-handler.js';

type Added = { type: 'Added'; data: { n: number } };
const summer = {
  initialState: () => 0,
  evolve: (sum: number, event: Added) => sum + event.data.n,
};

const stored = (streamVersion: number, n: number): StoredEvent => ({
  type: 'Added', data: { n }, stream: 'sum-1', streamVersion, position: BigInt(streamVersion), commitId: `c${streamVersion}`, recordedAt: '2030-01-01T00:00:00.000Z',
});

/** A store whose only stream reads as `events`, honouring `fromVersion` as the adapters do. */
const storeHolding = (events: StoredEvent[]): EventStore => ({
  readStream: async (_stream, options) => events.filter((e) => e.streamVersion >= (options?.fromVersion ?? 1)),
  append: async () => { throw new Error('not used'); },
  subscribeAll: async () => { throw new Error('not used'); },
  close: async () => undefined,
});

describe('loadState', () => {
  it('folds only the events after the cached version onto the cached state', async () => {
    const cache = new StateCache<number>();
    cache.set('sum-1', 100, 2);
    const loaded = await loadState(storeHolding([stored(1, 1), stored(2, 2), stored(3, 3)]), 'sum-1', summer, cache);
    expect(loaded).toEqual({ state: 103, version: 3 });
    expect(cache.get('sum-1')).toEqual({ state: 103, version: 3 });
  });

  it.each([
    ['skips a version', [stored(1, 1), stored(3, 3)], /event 1 read after version 0 has version 3/],
    ['repeats a version', [stored(1, 1), stored(2, 2), stored(2, 5)], /event 2 read after version 0 has version 2/],
  ])('refuses a history that %s instead of folding a state that misses events', async (_case, events, message) => {
    const cache = new StateCache<number>();
    await expect(loadState(storeHolding(events), 'sum-1', summer, cache)).rejects.toThrow(CorruptCommitError);
    await expect(loadState(storeHolding(events), 'sum-1', summer, cache)).rejects.toThrow(message);
    expect(cache.get('sum-1')).toBeUndefined();
  });
});

describe('handleCommands', () => {
  type Add = { type: 'Add'; data: { n: number } };
  /** Adds n; refuses a negative n and a sum above 100. */
  const adder = {
    ...summer,
    decide: (command: Add, sum: number): Added[] => {
      if (command.data.n < 0) throw new RangeError(`n must not be negative, got ${command.data.n}`);
      if (sum + command.data.n > 100) throw new RangeError(`the sum would pass 100 (${sum} + ${command.data.n})`);
      return command.data.n === 0 ? [] : [{ type: 'Added', data: { n: command.data.n } }];
    },
  };
  const context = (actor: string) => ({ actor, now: '2030-01-01T00:00:00.000Z' });
  const add = (n: number, actor = 'device-1') => ({ command: { type: 'Add' as const, data: { n } }, context: context(actor) });

  /** One stream in memory with the adapters' expected-version check; `interfere` appends as another writer would, once. */
  function memoryStore(interfere?: () => StoredEvent[]) {
    const events: StoredEvent[] = [];
    const appends: number[] = [];
    const store: EventStore = {
      readStream: async (_stream, options) => events.filter((e) => e.streamVersion >= (options?.fromVersion ?? 1)),
      append: async (_stream, batch, expected) => {
        const extra = interfere?.() ?? [];
        interfere = undefined;
        events.push(...extra);
        if (expected !== 'any' && expected !== events.length) throw new ConcurrencyError('sum-1', expected, events.length);
        appends.push(batch.length);
        for (const e of batch) events.push({ ...e, stream: 'sum-1', streamVersion: events.length + 1, position: BigInt(appends.length), commitId: `c${appends.length}`, recordedAt: '2030-01-01T00:00:00.000Z' } as StoredEvent);
        return { nextVersion: events.length, position: BigInt(appends.length) };
      },
      subscribeAll: async () => { throw new Error('not used'); },
      close: async () => undefined,
    };
    return { store, events, appends };
  }

  it('decides each command on the state the ones before it leave, and appends all their events in one commit with each one\'s actor', async () => {
    const { store, events, appends } = memoryStore();
    const handled = await handleCommands(store, 'sum-1', adder, [add(40, 'a'), add(50, 'b'), add(0, 'c'), add(5, 'd')]);
    expect(handled.outcomes).toEqual([
      { ok: true, events: [{ type: 'Added', data: { n: 40 } }] }, { ok: true, events: [{ type: 'Added', data: { n: 50 } }] },
      { ok: true, events: [] }, { ok: true, events: [{ type: 'Added', data: { n: 5 } }] },
    ]);
    expect(appends).toEqual([3]);
    expect(handled).toMatchObject({ nextVersion: 3, position: 1n });
    expect(events.map((e) => e.metadata?.['actor'])).toEqual(['a', 'b', 'd']);
  });

  it('fails a command the decider refuses alone, judging the next ones without it', async () => {
    const { store, events } = memoryStore();
    const handled = await handleCommands(store, 'sum-1', adder, [add(60), add(-1), add(50), add(40)]);
    expect(handled.outcomes.map((o) => (o.ok ? 'ok' : String(o.error)))).toEqual([
      'ok', 'RangeError: n must not be negative, got -1', 'RangeError: the sum would pass 100 (60 + 50)', 'ok',
    ]);
    expect(events.map((e) => e.data['n'])).toEqual([60, 40]);
  });

  it('re-decides the whole batch on the new state after a conflict with another writer', async () => {
    const cache = new StateCache<number>();
    const { store, events, appends } = memoryStore(() => [{ ...stored(1, 70), stream: 'sum-1' }]);
    const handled = await handleCommands(store, 'sum-1', adder, [add(20), add(20)], { cache });
    // On the other writer's 70, only the first 20 fits.
    expect(handled.outcomes.map((o) => o.ok)).toEqual([true, false]);
    expect(events.map((e) => e.data['n'])).toEqual([70, 20]);
    expect(appends).toEqual([1]);
    expect(cache.get('sum-1')).toEqual({ state: 90, version: 2 });
  });

  it('appends nothing when no command changes anything', async () => {
    const { store, appends } = memoryStore();
    expect(await handleCommands(store, 'sum-1', adder, [add(0), add(-2)])).toMatchObject({ nextVersion: 0 });
    expect(appends).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { describeEventStoreContract, uniqueStream, waitFor } from './event-store.contract.js';
import { EventStoreUnavailableError } from './event-store.port.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { InMemoryEventStoreDbClient } from './testing/in-memory-eventstoredb-client.js';

// The adapter's own logic against an in-memory stand-in for the EventStoreDB client; the run
// against a real server is eventstoredb-event-store.int.spec.ts (EVENTSTOREDB_URL).
const client = new InMemoryEventStoreDbClient();
describeEventStoreContract('EventStoreDbEventStore on an in-memory client', async () => new EventStoreDbEventStore(client.asClient(), false, { retryDelayMs: 10 }));

describe('EventStoreDbEventStore', () => {
  it('reports a failed append as EventStoreUnavailableError naming the commit to retry', async () => {
    const down = new InMemoryEventStoreDbClient();
    const store = new EventStoreDbEventStore(down.asClient(), true);
    down.down = true;
    const failure = await store.append(uniqueStream(), [{ type: 'A', data: {} }], 0, { commitId: 'c-1' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(EventStoreUnavailableError);
    expect(failure).toMatchObject({ commitId: 'c-1' });
    expect((failure as Error).message).toMatch(/retry with the same commitId/);
    await expect(store.readStream(uniqueStream())).rejects.toThrow(EventStoreUnavailableError);
    await store.close();
  });

  it('re-subscribes from its last position when the subscription breaks', async () => {
    const flaky = new InMemoryEventStoreDbClient();
    const store = new EventStoreDbEventStore(flaky.asClient(), true, { retryDelayMs: 10 });
    const stream = uniqueStream();
    await store.append(stream, [{ type: 'A', data: {} }, { type: 'B', data: {} }], 0);
    const received: string[][] = [];
    const subscription = await store.subscribeAll({ fromPosition: 0n, onCommit: async (events) => void received.push(events.map((e) => e.type)) });
    await waitFor(() => received.length === 1, 'the first commit');
    flaky.down = true;
    flaky.poke();
    await waitFor(() => flaky.breaks > 0, 'the subscription to break');
    flaky.down = false;
    await store.append(stream, [{ type: 'C', data: {} }], 2);
    await waitFor(() => received.length === 2, 'the commit after the break');
    expect(received).toEqual([['A', 'B'], ['C']]);
    await subscription.close();
    await store.close();
  });

  it('refuses a negative fromPosition', async () => {
    const store = new EventStoreDbEventStore(new InMemoryEventStoreDbClient().asClient());
    await expect(store.subscribeAll({ fromPosition: -1n, onCommit: async () => undefined })).rejects.toThrow(/fromPosition must be a bigint >= 0n/);
  });
});

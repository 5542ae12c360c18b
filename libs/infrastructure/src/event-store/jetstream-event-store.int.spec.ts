import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { startNatsServer, type NatsServer } from '../testing/nats-server.js';
import { describeEventStoreContract, uniqueStream, waitFor } from './event-store.contract.js';
import {
  ConcurrencyError,
  CorruptCommitError,
  EventStoreUnavailableError,
  InvalidStreamNameError,
  type EventStore,
  type StoredEvent,
} from './event-store.port.js';
import { EVENTS_STREAM } from '@hotswap/contracts';
import { JetStreamEventStore } from './jetstream-event-store.js';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

describeEventStoreContract('JetStreamEventStore', () => JetStreamEventStore.connect({ servers: server.url }));

describe('JetStreamEventStore', () => {
  let store: JetStreamEventStore;
  beforeAll(async () => {
    store = await JetStreamEventStore.connect({ servers: server.url });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('maps <aggregate>-<id> to one subject token per part, dots in ids included', () => {
    expect(JetStreamEventStore.subjectOf('model-object-detection-1.2.0')).toBe('hotswap.events.model.object-detection-1%2E2%2E0');
  });

  it.each(['model', '-abc', 'model-', ''])('refuses the stream name %j', async (stream) => {
    await expect(store.append(stream, [{ type: 'A', data: {} }], 0)).rejects.toThrow(InvalidStreamNameError);
    await expect(store.readStream(stream)).rejects.toThrow(InvalidStreamNameError);
  });

  it('stores each commit as one message on the stream subject, with its version slot as Nats-Msg-Id', async () => {
    const stream = uniqueStream('model');
    const { position } = await store.append(stream, [{ type: 'A', data: {} }, { type: 'B', data: {} }], 0, { commitId: 'c-1' + stream });
    const nc = await connect({ servers: server.url });
    try {
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const jsm = await jetstreamManager(nc);
      const msg = await jsm.streams.getMessage(EVENTS_STREAM, { seq: Number(position) });
      expect(msg?.subject).toBe(JetStreamEventStore.subjectOf(stream));
      expect(msg?.header.get('Nats-Msg-Id')).toBe(`${JetStreamEventStore.subjectOf(stream)}@1`);
      expect(msg?.json<{ commitId: string }>().commitId).toBe('c-1' + stream);
      expect(msg?.json<{ firstVersion: number; events: unknown[] }>()).toMatchObject({ firstVersion: 1, events: [{ type: 'A' }, { type: 'B' }] });
      const info = await jsm.streams.info(EVENTS_STREAM);
      expect(info.config).toMatchObject({ subjects: ['hotswap.events.>'], storage: 'file', duplicate_window: 120_000_000_000 });
    } finally {
      await nc.close();
    }
  });

  it('dedupes a commit id within its own stream only, as EventStoreDB does', async () => {
    const commitId = `shared-${Date.now()}`;
    const [first, second] = [uniqueStream(), uniqueStream()];
    await store.append(first, [{ type: 'A', data: {} }], 0, { commitId });
    await store.append(second, [{ type: 'B', data: {} }], 0, { commitId });
    expect((await store.readStream(second)).map((e) => [e.type, e.commitId])).toEqual([['B', commitId]]);
  });

  it('refuses with ConcurrencyError an append whose version slot another commit already holds', async () => {
    // What a commit that lost a race on a replicated stream meets: its expected sequence still
    // matched when it was checked, but the slot went to the commit in flight before it.
    const stream = uniqueStream();
    const subject = JetStreamEventStore.subjectOf(stream);
    const nc = await connect({ servers: server.url });
    try {
      const { jetstream } = await import('@nats-io/jetstream');
      const other = { commitId: 'other', stream: uniqueStream(), events: [{ type: 'X', data: {} }], recordedAt: new Date().toISOString(), firstVersion: 1 };
      await jetstream(nc).publish(JetStreamEventStore.subjectOf(other.stream), JSON.stringify(other), { msgID: `${subject}@1` });
    } finally {
      await nc.close();
    }
    const refused = await store.append(stream, [{ type: 'A', data: {} }], 0, { commitId: 'mine' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConcurrencyError);
    expect(refused).toMatchObject({ stream, expectedVersion: 0, actualVersion: 1 });
    expect(await store.readStream(stream)).toEqual([]);
  });

  it('reports a history whose commits claim a version twice as CorruptCommitError', async () => {
    // Written by this store before commits claimed version slots, by racing writers on a cluster.
    const stream = uniqueStream();
    const subject = JetStreamEventStore.subjectOf(stream);
    const nc = await connect({ servers: server.url });
    try {
      const { jetstream } = await import('@nats-io/jetstream');
      const commit = (commitId: string, firstVersion: number) =>
        JSON.stringify({ commitId, stream, events: [{ type: 'A', data: {} }], recordedAt: new Date().toISOString(), firstVersion });
      await jetstream(nc).publish(subject, commit('a', 1));
      await jetstream(nc).publish(subject, commit('b', 2));
      await jetstream(nc).publish(subject, commit('c', 2));
    } finally {
      await nc.close();
    }
    await expect(store.readStream(stream)).rejects.toThrow(CorruptCommitError);
    await expect(store.readStream(stream)).rejects.toThrow(/holds version 2 of .*, expected 3/);
  });

  it('reports a message that is not a commit envelope as CorruptCommitError', async () => {
    const stream = uniqueStream();
    const nc = await connect({ servers: server.url });
    try {
      const { jetstream } = await import('@nats-io/jetstream');
      await jetstream(nc).publish(JetStreamEventStore.subjectOf(stream), 'not json');
    } finally {
      await nc.close();
    }
    await expect(store.readStream(stream)).rejects.toThrow(CorruptCommitError);
    await expect(store.append(stream, [{ type: 'A', data: {} }], 1)).rejects.toThrow(/is not JSON/);
  });

  it('updates an existing stream whose duplicate window differs', async () => {
    const other = await JetStreamEventStore.connect({ servers: server.url, duplicateWindowMs: 60_000 });
    await other.close();
    const nc = await connect({ servers: server.url });
    try {
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(EVENTS_STREAM)).config.duplicate_window).toBe(60_000_000_000);
    } finally {
      await nc.close();
      await (await JetStreamEventStore.connect({ servers: server.url })).close();
    }
  });

  it('works on a connection it was given and leaves it open on close', async () => {
    const nc = await connect({ servers: server.url });
    const borrowed = await JetStreamEventStore.fromConnection(nc);
    const stream = uniqueStream();
    await borrowed.append(stream, [{ type: 'A', data: {} }], 0);
    await borrowed.close();
    expect(nc.isClosed()).toBe(false);
    expect(await store.readStream(stream)).toHaveLength(1);
    await nc.close();
  });

  it('refuses a negative subscription position', async () => {
    await expect(store.subscribeAll({ fromPosition: -1n, onCommit: async () => undefined })).rejects.toThrow(/fromPosition must be a bigint >= 0n/);
  });

  it('refuses to work once closed', async () => {
    const closed = await JetStreamEventStore.connect({ servers: server.url });
    await closed.close();
    await expect(closed.readStream(uniqueStream())).rejects.toThrow(EventStoreUnavailableError);
  });
});

describe('JetStreamEventStore - stream setup', () => {
  it('lets several services create the stream at the same moment', async () => {
    const fresh = await startNatsServer();
    try {
      const stores = await Promise.all([1, 2, 3].map(() => JetStreamEventStore.connect({ servers: fresh.url })));
      await stores[0].append('model-a', [{ type: 'A', data: {} }], 0);
      expect(await stores[2].readStream('model-a')).toHaveLength(1);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await fresh.stop();
    }
  });

  it('refuses to connect to a server without JetStream', async () => {
    const plain = await startNatsServer({ jetstream: false });
    try {
      await expect(JetStreamEventStore.connect({ servers: plain.url, timeoutMs: 1_000 })).rejects.toThrow(/jetstream/i);
    } finally {
      await plain.stop();
    }
  });
});

describe('JetStreamEventStore - nats-server killed and restarted mid-writes', () => {
  let crashing: NatsServer;
  beforeAll(async () => {
    crashing = await startNatsServer();
  });
  afterAll(async () => {
    await crashing?.stop();
  });

  it('keeps every acknowledged append and continues the subscription after the restart', async () => {
    const store = await JetStreamEventStore.connect({ servers: crashing.url, timeoutMs: 1_000, retryDelayMs: 100, connection: { reconnectTimeWait: 100 } });
    const reader = await JetStreamEventStore.connect({ servers: crashing.url, timeoutMs: 1_000, retryDelayMs: 100, connection: { reconnectTimeWait: 100 } });
    const delivered: bigint[] = [];
    const subscription = await reader.subscribeAll({
      fromPosition: 0n,
      onCommit: async (events) => {
        delivered.push(events[0].position);
      },
    });
    const acknowledged: { stream: string; version: number; position: bigint; commitId: string }[] = [];
    const failures: unknown[] = [];
    let stop = false;
    const writer = async (store: EventStore, stream: string) => {
      let version = 0;
      for (let i = 0; !stop; i++) {
        const commitId = `${stream}/${i}`;
        try {
          const { nextVersion, position } = await store.append(stream, [{ type: 'Written', data: { i } }], version, { commitId });
          version = nextVersion;
          acknowledged.push({ stream, version, position, commitId });
        } catch (error) {
          failures.push(error);
          // The outcome of a failed append is unknown: learn the version again before the next one.
          version = await store.readStream(stream).then((events) => events.at(-1)?.streamVersion ?? 0, () => version);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const streams = [uniqueStream(), uniqueStream(), uniqueStream()];
    const writers = streams.map((stream) => writer(store, stream));
    try {
      await waitFor(() => acknowledged.length >= 30, '30 appends before the crash');
      await crashing.kill();
      await waitFor(() => failures.length > 0, 'an append failing during the outage');
      const beforeRestart = acknowledged.length;
      await crashing.restart();
      await waitFor(() => acknowledged.length >= beforeRestart + 30, '30 appends after the restart', 30_000);
    } finally {
      stop = true;
      await Promise.all(writers);
    }

    for (const failure of failures) {
      expect(failure instanceof EventStoreUnavailableError || failure instanceof ConcurrencyError).toBe(true);
    }
    const stored = new Map<string, StoredEvent[]>();
    for (const stream of streams) {
      const events = await store.readStream(stream);
      stored.set(stream, events);
      expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1));
    }
    for (const ack of acknowledged) {
      const event = stored.get(ack.stream)?.find((e) => e.streamVersion === ack.version);
      expect(event).toMatchObject({ commitId: ack.commitId, position: ack.position });
    }
    const last = acknowledged.reduce((max, a) => (a.position > max ? a.position : max), 0n);
    await waitFor(() => delivered.includes(last), 'the subscription to deliver the last commit', 30_000);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(delivered.every((p, i) => i === 0 || p > delivered[i - 1])).toBe(true);
    await subscription.close();
    await reader.close();
    await store.close();
  }, 90_000);
});

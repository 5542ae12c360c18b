/**
 * The JetStream store on a 3-node cluster with the events stream at 3 replicas: several writers,
 * each on its own node, racing for one stream's next version through handleCommand and a state
 * cache, as distributor instances do on a distribution stream.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EVENTS_STREAM } from '@hotswap/contracts';
import { handleCommand, loadState, StateCache, type DeciderLike } from '../runtime/decider-handler.js';
import { startNatsCluster, type NatsCluster } from '../testing/nats-server.js';
import type { StoredEvent } from './event-store.port.js';
import { JetStreamEventStore } from './jetstream-event-store.js';

// A counter whose every event names the count it leads to: in a history written without stale
// decisions, event n says `to: n`. Every third increment is a commit of two events.
type CounterEvent = { type: 'Incremented'; data: { to: number; writer: string } };
type CounterState = { count: number; writers: string[] };
type Increment = { writer: string };
const counter: DeciderLike<Increment, CounterEvent, CounterState> = {
  initialState: () => ({ count: 0, writers: [] }),
  decide: ({ writer }, { count }) => {
    const event = (to: number): CounterEvent => ({ type: 'Incremented', data: { to, writer } });
    return count % 3 === 2 ? [event(count + 1), event(count + 2)] : [event(count + 1)];
  },
  evolve: (state, { data }) => ({ count: state.count + 1, writers: [...state.writers, data.writer] }),
};
const fold = (events: readonly StoredEvent[]) =>
  events.reduce((s, e) => counter.evolve(s, { type: 'Incremented', data: e.data as CounterEvent['data'] }), counter.initialState());

const WRITERS = 3;
const COMMANDS_PER_WRITER = 25;
const STREAMS = 3;

describe('JetStreamEventStore on a 3-node cluster, stream at R3', () => {
  let cluster: NatsCluster;
  const stores: JetStreamEventStore[] = [];
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    // Each writer talks to its own node only, like services spread over the cluster.
    for (const node of cluster.nodes) stores.push(await JetStreamEventStore.connect({ servers: node.url, replicas: 3 }));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await cluster?.stop();
  });

  it('creates the events stream with 3 replicas', async () => {
    const nc = await connect({ servers: cluster.nodes[0]!.url });
    try {
      expect((await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM)).config.num_replicas).toBe(3);
    } finally {
      await nc.close();
    }
  });

  it('keeps every writer\'s cached state equal to a fresh read, and lets no append through on a stale state, under concurrent writers', async () => {
    const problems: string[] = [];
    const runWriter = async (stream: string, w: number) => {
      const store = stores[w % stores.length]!;
      const cache = new StateCache<CounterState>();
      const writer = `w${w}`;
      for (let i = 0; i < COMMANDS_PER_WRITER; i++) {
        await handleCommand(store, stream, counter, { writer }, { actor: writer, now: new Date().toISOString() }, { cache, maxAttempts: 100 });
        const cached = cache.get(stream)!;
        const fresh = await store.readStream(stream);
        const expected = fold(fresh.filter((e) => e.streamVersion <= cached.version));
        if (JSON.stringify(cached.state) !== JSON.stringify(expected)) {
          problems.push(`${writer} after command ${i}: cached ${JSON.stringify(cached.state.count)} at version ${cached.version}, fresh read gives ${expected.count}`);
        }
      }
    };
    const streams = Array.from({ length: STREAMS }, () => `counter-${randomUUID()}`);
    await Promise.all(streams.flatMap((stream) => Array.from({ length: WRITERS }, (_, w) => runWriter(stream, w))));
    expect(problems).toEqual([]);

    for (const stream of streams) {
      const events = await stores[0]!.readStream(stream);
      // Versions 1..n, each once, and each event decided on the state just before it.
      expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1));
      expect(events.map((e) => (e.data as CounterEvent['data']).to)).toEqual(events.map((_, i) => i + 1));
      expect(fold(events).count).toBeGreaterThanOrEqual(WRITERS * COMMANDS_PER_WRITER);
      // Every writer, even one that never wrote since, folds the same final state.
      for (const store of stores) {
        expect((await loadState(store, stream, counter)).state).toEqual(fold(events));
      }
    }
  }, 60_000);
});

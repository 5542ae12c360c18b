// Makes HotSwap's JetStream state replicated before the services start (docker-compose runs it
// once, as the nats-init job, from the cli image). The services create the event stream and their
// KV buckets themselves when missing, but with one replica: on a 3-node cluster that would leave
// each on a single node, and losing that node would stop the system. This creates them with
// --replicas (default 3) and scales up existing ones; the services then find them and use them as
// they are. Idempotent; safe to re-run (docs/runbooks/nats-node-loss.md).
//
//   NATS_URL=nats://nats-1:4222,nats://nats-2:4222 node jetstream-init.mjs [--replicas 3]
//
// The names must match libs/contracts and the apps' *_BUCKET constants
// (test/e2e/deployment.e2e.spec.ts checks that they do).
import { connect } from '@nats-io/transport-node';
import { jetstreamManager, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SECOND_NS = 1_000_000_000;

/** The event store's stream, as JetStreamEventStore creates it (it updates only subjects and the window). */
export const EVENTS_STREAM = {
  name: 'HOTSWAP_EVENTS',
  subjects: ['hotswap.events.>'],
  storage: 'file',
  duplicate_window: 120 * SECOND_NS,
};

/** The KV buckets, with the options the services create them with. */
export const BUCKETS = [
  { name: 'hotswap-desired', history: 5 },
  { name: 'hotswap-target-claims', history: 1 },
  { name: 'hotswap-distribution-owners', history: 1 },
  { name: 'hotswap-api-keys', history: 1 },
  // Live distributor instances; the TTL is max(1 min, 10 × HOTSWAP_OWNERSHIP_LEASE) with the default lease.
  { name: 'hotswap-distributor-members', history: 1, ttl: 60_000 },
  // Counters with a TTL of twice their longest window (the gateway's default hour, the registry's minute).
  { name: 'hotswap-rate-limits', history: 1, ttl: 2 * 3_600_000 },
  { name: 'hotswap-heartbeat-limit', history: 1, ttl: 2 * 60_000 },
];

function replicasFromArgs(argv) {
  const at = argv.indexOf('--replicas');
  if (at === -1) return 3;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value < 1 || value > 5) throw new Error(`--replicas takes 1 to 5, got ${JSON.stringify(argv[at + 1])}`);
  return value;
}

async function streamInfo(jsm, name) {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === 10059) return undefined; // stream not found
    throw error;
  }
}

/** Creates `name` with `create()` when missing, else raises its replicas to `replicas`. */
async function ensure(jsm, name, replicas, create) {
  const info = await streamInfo(jsm, name);
  if (!info) {
    await create();
    return `${name}: created with ${replicas} replicas`;
  }
  if (info.config.num_replicas >= replicas) return `${name}: already ${info.config.num_replicas} replicas`;
  await jsm.streams.update(name, { ...info.config, num_replicas: replicas });
  return `${name}: scaled from ${info.config.num_replicas} to ${replicas} replicas`;
}

async function main() {
  const replicas = replicasFromArgs(process.argv.slice(2));
  // No default: pointed at the wrong server it would create HotSwap's streams there.
  if (!process.env.NATS_URL) throw new Error('NATS_URL is required (the cluster, e.g. nats://nats-1:4222,nats://nats-2:4222)');
  const servers = process.env.NATS_URL.split(',');
  const nc = await connect({ servers, name: 'hotswap-jetstream-init', maxReconnectAttempts: 30, reconnectTimeWait: 1000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const kvm = new Kvm(nc);
    const lines = [await ensure(jsm, EVENTS_STREAM.name, replicas, () => jsm.streams.add({ ...EVENTS_STREAM, num_replicas: replicas }))];
    for (const bucket of BUCKETS) {
      const { name, ...options } = bucket;
      lines.push(await ensure(jsm, `KV_${name}`, replicas, () => kvm.create(name, { ...options, replicas })));
    }
    for (const line of lines) console.log(line);
  } finally {
    await nc.close();
  }
}

// Run as a program; importing it (for its names) does nothing.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`jetstream-init: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}

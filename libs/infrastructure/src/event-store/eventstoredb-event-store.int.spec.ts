import { describeEventStoreContract } from './event-store.contract.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';

// Needs a running EventStoreDB (docker-compose.yml starts one), e.g.
// EVENTSTOREDB_URL='esdb://127.0.0.1:2113?tls=false'. Without it the suite is reported as skipped.
const url = process.env['EVENTSTOREDB_URL'];

describeEventStoreContract('EventStoreDbEventStore', async () => EventStoreDbEventStore.connect(url ?? ''), { skip: !url });

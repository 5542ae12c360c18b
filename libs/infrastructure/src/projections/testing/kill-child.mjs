// A projection runner in its own process, for the crash test: the test SIGKILLs it mid-stream.
// Runs from the tree compileForChild() builds; configured by environment variables.
import { JetStreamEventStore } from '../../event-store/jetstream-event-store.js';
import { PgDatabase } from '../../read-model/pg-database.js';
import { ProjectionRunner } from '../projection-runner.js';
import { countingProjection } from './counting-projection.js';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const store = await JetStreamEventStore.connect({ servers: env('NATS_URL') });
const db = await PgDatabase.connect({ connectionString: env('PG_URL'), schema: env('PG_SCHEMA') });
const projection = countingProjection({
  name: env('PROJECTION_NAME'),
  streamPrefix: env('STREAM_PREFIX'),
  applyDelayMs: Number(env('APPLY_DELAY_MS')),
});
const runner = new ProjectionRunner({ store, db, projection, batchSize: Number(env('BATCH_SIZE')), onError: (error) => console.error(error) });
await runner.start();
process.stdout.write('started\n');

export * from './event-store.port.js';
export { findCommit, validateAppend } from './commit.js';
export {
  JetStreamEventStore,
  decodeCommit,
  type CommitEnvelope,
  type JetStreamEventStoreConnectOptions,
  type JetStreamEventStoreOptions,
} from './jetstream-event-store.js';
export { EventStoreDbEventStore, type EventStoreDbEventStoreOptions } from './eventstoredb-event-store.js';
export { COMMIT_METADATA_KEY, commitEventId } from './eventstoredb-mapping.js';

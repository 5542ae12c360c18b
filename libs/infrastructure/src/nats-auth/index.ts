export * from './nats-trust.js';
export * from './nkeys.js';

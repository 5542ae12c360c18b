export * from './nats-trust.js';

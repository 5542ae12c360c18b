export * from './manifest-signing.js';
export * from './rollback-signing.js';

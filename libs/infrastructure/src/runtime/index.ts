export * from './decider-handler.js';
export * from './service-runtime.js';
export * from './bootstrap.js';

export * from './decider-handler.js';
export * from './service-runtime.js';
export * from './bootstrap.js';
export * from './projected-read-model.js';
export * from './query-helpers.js';

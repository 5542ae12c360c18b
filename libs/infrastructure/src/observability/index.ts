export * from './telemetry-names.js';
export * from './tracing.js';
export * from './metrics.js';

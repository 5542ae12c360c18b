// Test support, kept out of the main entry and the build: import from '@hotswap/infrastructure/testing'.
export * from './nats-server.js';
export * from '../sample-models/onnx-models.js';
export * from './test-runtime.js';
export * from './eventually.js';

export * from './manifest-signing.js';

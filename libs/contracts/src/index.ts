export * from './ids.js';
export * from './subjects.js';
export * from './vocabulary.js';
export * from './events.js';
export * from './messages.js';
export * from './device-plane.js';
export * from './rest.js';

export { DeviceRegistryModule } from './device-registry.module.js';
export type { DeviceRegistryOptions } from './device-registry.options.js';
export { OfflineDetector } from './offline-detection/offline-detector.js';

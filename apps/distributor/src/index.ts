export { DistributorModule } from './distributor.module.js';
export type { DistributorOptions } from './distributor.options.js';
export { DEFAULT_EXECUTION_POLICY } from './distributor.options.js';
export { distributorConfig, distributorOptionsFromEnv, rolloutConfig, rolloutOptionsFromEnv } from './distributor.config.js';

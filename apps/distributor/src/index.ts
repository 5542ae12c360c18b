export { DistributorModule } from './distributor.module.js';
export type { DistributorOptions } from './distributor.options.js';

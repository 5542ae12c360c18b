export { ValidatorModule } from './validator.module.js';
export type { ValidatorOptions } from './validator.options.js';

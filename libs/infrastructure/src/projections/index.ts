export type { Projection } from './projection.js';
export {
  CHECKPOINTS_TABLE,
  ProjectionError,
  ProjectionRunner,
  ProjectionTimeoutError,
  type ProjectionRunnerOptions,
} from './projection-runner.js';

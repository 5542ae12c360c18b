export {
  ConfigError,
  ConfigValueError,
  defineConfig,
  describeConfig,
  loadConfig,
  type Config,
  type ConfigProblem,
  type ConfigSchema,
  type ConfigVar,
} from './config.js';
export { InvalidDurationError, parseIsoDuration } from './iso-duration.js';
export { bool, int, isoDuration, oneOf, str, url, type IntOptions } from './parsers.js';

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
export { InvalidDurationError, parseIsoDuration } from '@hotswap/contracts';
export { bool, int, isoDuration, list, oneOf, readConfigFile, str, url, type IntOptions } from './parsers.js';

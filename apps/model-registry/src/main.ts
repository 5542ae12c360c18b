import 'reflect-metadata';
import { runServiceModule } from '@hotswap/infrastructure';
import { inspectionLimitsFromEnv } from './inspection/inspection-config.js';
import { ModelRegistryModule } from './model-registry.module.js';
import { retentionOptionsFromEnv } from './retention/retention-config.js';

// The model-registry as its own process (docker-compose); npm start hosts it in the embedded default.
runServiceModule(
  'model-registry',
  (runtime, options) => ModelRegistryModule.register(runtime, options),
  () => ({ inspectionLimits: inspectionLimitsFromEnv(), retention: retentionOptionsFromEnv() }),
);

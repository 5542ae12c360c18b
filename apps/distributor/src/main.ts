import 'reflect-metadata';
import { runServiceModule } from '@hotswap/infrastructure';
import { DistributorModule } from './distributor.module.js';
import { distributorOptionsFromEnv } from './distributor.config.js';

// The distributor as its own process (docker-compose); npm start hosts it in the embedded default.
runServiceModule('distributor', (runtime, options) => DistributorModule.register(runtime, options), () => distributorOptionsFromEnv());

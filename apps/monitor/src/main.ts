import 'reflect-metadata';
import { runServiceModule } from '@hotswap/infrastructure';
import { monitorOptionsFromEnv } from './monitor.config.js';
import { MonitorModule } from './monitor.module.js';

// The monitor as its own process (docker-compose); npm start hosts it in the embedded default.
runServiceModule('monitor', (runtime, options) => MonitorModule.register(runtime, options), () => monitorOptionsFromEnv());

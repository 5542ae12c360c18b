import 'reflect-metadata';
import { defineConfig, int, loadConfig, runServiceModule } from '@hotswap/infrastructure';
import { MonitorModule } from './monitor.module.js';

const config = defineConfig({
  windowsPerModel: { env: 'HOTSWAP_MONITOR_WINDOWS_KEPT', default: '60', parse: int({ min: 1 }), description: 'telemetry windows kept per device and model' },
});

// The monitor as its own process (docker-compose); npm start hosts it in the embedded default.
runServiceModule('monitor', (runtime, options) => MonitorModule.register(runtime, options), () => loadConfig(config));

import 'reflect-metadata';
import { defineConfig, isoDuration, loadConfig, runServiceModule } from '@hotswap/infrastructure';
import { DeviceRegistryModule } from './device-registry.module.js';

const config = defineConfig({
  offlineAfterMs: { env: 'HOTSWAP_DEVICE_OFFLINE_AFTER', default: 'PT5M', parse: isoDuration, description: 'a device silent this long is marked Offline' },
  offlineCheckIntervalMs: { env: 'HOTSWAP_DEVICE_OFFLINE_CHECK_INTERVAL', default: 'PT15S', parse: isoDuration, description: 'how often silent devices are looked for' },
  credentialsTtlMs: { env: 'HOTSWAP_DEVICE_CREDENTIALS_TTL', default: 'PT1H', parse: isoDuration, description: 'lifetime of issued device credentials; devices renew them while registered' },
});

// The device registry as its own process (docker-compose); npm start hosts it in the embedded default.
runServiceModule('device-registry', (runtime, options) => DeviceRegistryModule.register(runtime, options), () => loadConfig(config));

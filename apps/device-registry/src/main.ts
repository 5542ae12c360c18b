import 'reflect-metadata';
import { ConfigValueError, defineConfig, isoDuration, loadConfig, parseNatsTrust, readConfigFile, runServiceModule, type NatsTrust } from '@hotswap/infrastructure';
import { DeviceRegistryModule } from './device-registry.module.js';
import { heartbeatLimitFromEnv } from './heartbeat-limit/heartbeat-limit.options.js';

const config = defineConfig({
  offlineAfterMs: { env: 'HOTSWAP_DEVICE_OFFLINE_AFTER', default: 'PT5M', parse: isoDuration, description: 'a device silent this long is marked Offline' },
  offlineCheckIntervalMs: { env: 'HOTSWAP_DEVICE_OFFLINE_CHECK_INTERVAL', default: 'PT15S', parse: isoDuration, description: 'how often silent devices are looked for' },
  natsTrust: { env: 'HOTSWAP_NATS_TRUST_FILE', optional: true, parse: trustFile, description: 'the NATS operator/account trust (nats-trust.json) whose account key signs per-device NATS credentials; without it registration issues none' },
  credentialsTtlMs: { env: 'HOTSWAP_DEVICE_CREDENTIALS_TTL', default: 'PT1H', parse: isoDuration, description: 'lifetime of issued device credentials; devices renew them while registered' },
});

function trustFile(path: string): NatsTrust {
  const text = readConfigFile(path, 'the NATS trust file');
  try {
    return parseNatsTrust(text, `file ${path}`);
  } catch (error) {
    throw new ConfigValueError((error as Error).message);
  }
}

// The device registry as its own process (docker-compose); npm start hosts it in the embedded default.
runServiceModule('device-registry', (runtime, options) => DeviceRegistryModule.register(runtime, { ...options, ...(runtime.metrics ? { metrics: runtime.metrics } : {}) }), () => ({ ...loadConfig(config), heartbeatLimit: heartbeatLimitFromEnv() }));

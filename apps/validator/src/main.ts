import 'reflect-metadata';
import { bool, defineConfig, isoDuration, loadConfig, readConfigFile, runServiceModule, str, url } from '@hotswap/infrastructure';
import { ValidatorModule } from './validator.module.js';
import type { ValidatorOptions } from './validator.options.js';

const config = defineConfig({
  staleRunMs: {
    env: 'HOTSWAP_VALIDATION_STALE_RUN', default: 'PT10M', parse: isoDuration,
    description: 'how long a run of another validator may go on before a validate request abandons it (ISO-8601 duration)',
  },
  abandonRunsOnStart: {
    env: 'HOTSWAP_VALIDATION_ABANDON_ON_START', default: 'true', parse: bool,
    description: 'abandon runs an earlier validator left going when this one starts; false when running replicas',
  },
  onDevice: {
    env: 'HOTSWAP_VALIDATION_ON_DEVICE', default: 'false', parse: (raw) => (raw === 'true' ? true : raw === 'false' ? false : raw),
    description: 'where load tests and benchmarks run by default: false (the validator), true (any Online device tagged validation) or a device id',
  },
  artifactBaseUrl: { env: 'HOTSWAP_ARTIFACT_BASE_URL', optional: true, parse: url, description: 'base URL devices download artifacts from (the gateway); needed for on-device runs' },
  urlSigningSecret: { env: 'HOTSWAP_URL_SIGNING_SECRET', optional: true, parse: str, secret: true, description: 'HMAC key of download URLs, shared with the gateway; needed for on-device runs' },
  manifestPrivateKeyPem: {
    env: 'HOTSWAP_MANIFEST_PRIVATE_KEY_FILE', optional: true, parse: (path) => readConfigFile(path, 'the manifest signing key'),
    description: 'Ed25519 private key (PEM file) signing release manifests; needed for on-device runs',
  },
});

function configure(): ValidatorOptions {
  const { artifactBaseUrl, urlSigningSecret, manifestPrivateKeyPem, ...options } = loadConfig(config);
  const device = artifactBaseUrl && urlSigningSecret && manifestPrivateKeyPem ? { artifactBaseUrl, urlSigningSecret, manifestPrivateKeyPem } : undefined;
  return { ...options, ...(device ? { device } : {}) };
}

// The validator as its own process (docker-compose); npm start hosts it in the embedded default.
runServiceModule('validator', (runtime, options) => ValidatorModule.register(runtime, options), configure);

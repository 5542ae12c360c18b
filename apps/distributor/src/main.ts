import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { bool, defineConfig, isoDuration, loadConfig, runServiceModule, str, url } from '@hotswap/infrastructure';
import { DistributorModule } from './distributor.module.js';

const config = defineConfig({
  artifactBaseUrl: { env: 'HOTSWAP_ARTIFACT_BASE_URL', parse: url, description: 'base URL devices download artifacts from (the gateway)' },
  urlSigningSecret: { env: 'HOTSWAP_URL_SIGNING_SECRET', parse: str, secret: true, description: 'HMAC key of download URLs, shared with the gateway' },
  manifestPrivateKeyPem: { env: 'HOTSWAP_MANIFEST_PRIVATE_KEY_FILE', parse: (path) => readFileSync(path, 'utf8'), description: 'Ed25519 private key (PEM file) signing release manifests' },
  urlTtlMs: { env: 'HOTSWAP_DOWNLOAD_URL_TTL', default: 'PT1H', parse: isoDuration, description: 'how long a download URL stays valid' },
  manifestTtlMs: { env: 'HOTSWAP_MANIFEST_TTL', default: 'P7D', parse: isoDuration, description: 'how long a signed release manifest stays valid' },
  requireValidation: { env: 'HOTSWAP_REQUIRE_VALIDATION', default: 'true', parse: bool, description: 'distribute only Validated models (409 otherwise)' },
  presignArtifactUrls: {
    env: 'HOTSWAP_PRESIGN_ARTIFACT_URLS', default: 'true', parse: bool,
    description: 'hand devices presigned object-store URLs when the artifact store can presign (S3); false: gateway URLs',
  },
});

// The distributor as its own process (docker-compose); npm start hosts it in the embedded default.
runServiceModule('distributor', (runtime, options) => DistributorModule.register(runtime, options), () => loadConfig(config));

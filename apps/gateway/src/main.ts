import 'reflect-metadata';
import { Services } from '@hotswap/contracts';
import { defineConfig, int, loadConfig, runUntilSignalled, serviceRuntimeFromEnv, str } from '@hotswap/infrastructure';
import { createGatewayApp } from './create-gateway-app.js';

const config = defineConfig({
  port: { env: 'PORT', default: '8080', parse: int({ min: 0, max: 65535 }), description: 'HTTP port' },
  host: { env: 'HOST', default: '0.0.0.0', parse: str, description: 'HTTP listen address' },
  jwtSecret: { env: 'HOTSWAP_JWT_SECRET', parse: str, secret: true, description: 'HS256 key of user JWTs' },
  urlSigningSecret: { env: 'HOTSWAP_URL_SIGNING_SECRET', parse: str, secret: true, description: 'HMAC key of download URLs, shared with the distributor' },
  maxUploadBytes: { env: 'HOTSWAP_MAX_UPLOAD_BYTES', default: String(4 * 1024 ** 3), parse: int({ min: 1 }), description: 'largest accepted artifact, in bytes' },
});

// The gateway as its own process (docker-compose); npm start hosts it in the embedded default.
runUntilSignalled(async () => {
  const { port, host, ...secrets } = loadConfig(config);
  const { runtime, close } = await serviceRuntimeFromEnv('gateway');
  const app = await createGatewayApp({
    bus: runtime.bus, artifacts: runtime.artifacts, clock: runtime.clock, ...secrets,
    serviceNames: [Services.modelRegistry, Services.deviceRegistry, Services.distributor, Services.validator, Services.monitor],
  }, { port, host });
  runtime.logger.info(`listening on ${host}:${port}`);
  return async () => {
    await app.close();
    await close();
  };
});

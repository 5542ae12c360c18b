import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { Services } from '@hotswap/contracts';
import { defineConfig, int, list, loadConfig, observeHttpConnections, runUntilSignalled, serviceRuntimeFromEnv, str, url } from '@hotswap/infrastructure';
import { createGatewayApp } from './create-gateway-app.js';
import { observeFleetGauges } from './metrics/fleet-metrics.js';
import { DEFAULT_RATE_LIMITS } from './rate-limits/rate-limit-rules.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** A limit of 0 turns the rule off. */
const limit = int({ min: 0 });

const config = defineConfig({
  port: { env: 'PORT', default: '8080', parse: int({ min: 0, max: 65535 }), description: 'HTTP(S) port' },
  host: { env: 'HOST', default: '0.0.0.0', parse: str, description: 'HTTP listen address' },
  jwtSecret: { env: 'HOTSWAP_JWT_SECRET', parse: str, secret: true, description: 'HS256 key of user JWTs' },
  jwtPreviousSecrets: { env: 'HOTSWAP_JWT_PREVIOUS_SECRETS', parse: list, optional: true, secret: true, description: 'comma-separated HS256 keys being rotated out: their tokens are still accepted' },
  jwksUrl: { env: 'HOTSWAP_JWKS_URL', parse: url, optional: true, description: 'JWKS of an OIDC provider: RS256/ES256 tokens verified with its keys are accepted too' },
  jwtIssuer: { env: 'HOTSWAP_JWT_ISSUER', parse: str, optional: true, description: 'required iss of JWKS-verified tokens (any when unset)' },
  jwtAudience: { env: 'HOTSWAP_JWT_AUDIENCE', parse: str, optional: true, description: 'required aud of JWKS-verified tokens (any when unset)' },
  urlSigningSecret: { env: 'HOTSWAP_URL_SIGNING_SECRET', parse: str, secret: true, description: 'HMAC key of download URLs, shared with the distributor' },
  urlSigningPreviousSecrets: { env: 'HOTSWAP_URL_SIGNING_PREVIOUS_SECRETS', parse: list, optional: true, secret: true, description: 'comma-separated URL signing keys being rotated out: URLs they signed stay valid until they expire' },
  maxUploadBytes: { env: 'HOTSWAP_MAX_UPLOAD_BYTES', default: String(4 * 1024 ** 3), parse: int({ min: 1 }), description: 'largest accepted artifact, in bytes' },
  registrationApiKeySha256: { env: 'HOTSWAP_REGISTRATION_API_KEY_SHA256', parse: list, optional: true, description: 'comma-separated SHA-256 (hex) of the device registration API keys' },
  tlsCertFile: { env: 'HOTSWAP_TLS_CERT_FILE', parse: str, optional: true, description: 'PEM certificate (chain): serve HTTPS (needs HOTSWAP_TLS_KEY_FILE)' },
  tlsKeyFile: { env: 'HOTSWAP_TLS_KEY_FILE', parse: str, optional: true, description: 'PEM private key of HOTSWAP_TLS_CERT_FILE' },
  uploadsPerHour: { env: 'HOTSWAP_RATE_LIMIT_UPLOADS_PER_HOUR', default: String(DEFAULT_RATE_LIMITS.upload.limit), parse: limit, description: 'model uploads per user per hour (0: unlimited)' },
  distributionsPerHour: { env: 'HOTSWAP_RATE_LIMIT_DISTRIBUTIONS_PER_HOUR', default: String(DEFAULT_RATE_LIMITS.createDistribution.limit), parse: limit, description: 'distributions created per user per hour (0: unlimited)' },
  readsPerMinute: { env: 'HOTSWAP_RATE_LIMIT_READS_PER_MINUTE', default: String(DEFAULT_RATE_LIMITS.monitor.limit), parse: limit, description: 'read (GET) requests per user per minute (0: unlimited)' },
});

// The gateway as its own process (docker-compose); npm start hosts it in the embedded default.
runUntilSignalled(async () => {
  const c = loadConfig(config);
  if ((c.tlsCertFile === undefined) !== (c.tlsKeyFile === undefined)) {
    throw new TypeError('HOTSWAP_TLS_CERT_FILE and HOTSWAP_TLS_KEY_FILE must be set together');
  }
  const https = c.tlsCertFile !== undefined && c.tlsKeyFile !== undefined
    ? { cert: await readFile(c.tlsCertFile), key: await readFile(c.tlsKeyFile) }
    : undefined;
  const rule = (perWindow: number, windowMs: number) => (perWindow === 0 ? undefined : { limit: perWindow, windowMs });
  const rateLimits = Object.fromEntries(Object.entries({
    upload: rule(c.uploadsPerHour, HOUR_MS),
    createDistribution: rule(c.distributionsPerHour, HOUR_MS),
    monitor: rule(c.readsPerMinute, MINUTE_MS),
  }).filter(([, value]) => value !== undefined));
  const { runtime, close } = await serviceRuntimeFromEnv('gateway');
  const app = await createGatewayApp({
    bus: runtime.bus, artifacts: runtime.artifacts, clock: runtime.clock, ...(runtime.metrics ? { metrics: runtime.metrics } : {}),
    jwtSecret: c.jwtSecret, urlSigningSecret: c.urlSigningSecret, maxUploadBytes: c.maxUploadBytes,
    ...(c.jwtPreviousSecrets === undefined ? {} : { jwtPreviousSecrets: c.jwtPreviousSecrets }),
    ...(c.urlSigningPreviousSecrets === undefined ? {} : { urlSigningPreviousSecrets: c.urlSigningPreviousSecrets }),
    ...(c.jwksUrl === undefined ? {} : {
      jwks: {
        url: c.jwksUrl,
        ...(c.jwtIssuer === undefined ? {} : { issuer: c.jwtIssuer }),
        ...(c.jwtAudience === undefined ? {} : { audience: c.jwtAudience }),
      },
    }),
    ...(c.registrationApiKeySha256 === undefined ? {} : { registrationApiKeySha256: c.registrationApiKeySha256 }),
    rateLimits,
    serviceNames: [Services.modelRegistry, Services.deviceRegistry, Services.distributor, Services.validator, Services.monitor],
  }, { port: c.port, host: c.host, ...(https === undefined ? {} : { https }) });
  // Alone, the gateway's /metrics asks the services for the fleet figures.
  const stopFleetGauges = runtime.metrics ? observeFleetGauges(runtime.bus, runtime.metrics) : () => undefined;
  const stopHttpGauge = observeHttpConnections(runtime.metrics, app.getHttpServer());
  runtime.logger.info(`listening on ${https === undefined ? 'http' : 'https'}://${c.host}:${c.port}`);
  return async () => {
    stopFleetGauges();
    stopHttpGauge();
    await app.close();
    await close();
  };
});

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultFleetSpecs, FleetSimulator, jsonLogger } from '@hotswap/edge-agent';
import { DEFAULT_RATE_LIMITS } from '@hotswap/gateway';
import { int, isoDuration, loadConfig, LocalFileArtifactStore, natsServerTrustConfig, PgliteDatabase, startTracing, str } from '@hotswap/infrastructure';
import { rolloutOptionsFromEnv } from '@hotswap/distributor';
import { monitorOptionsFromEnv } from '@hotswap/monitor';
import { startControlPlane } from '../embedded/control-plane.js';
import { defaultDataDir, loadLocalSecrets, sha256Hex } from '../embedded/local-secrets.js';
import { startNatsServer } from '../embedded/nats-server-process.js';
import { withCredentials } from './fleet.js';

const devConfig = {
  port: { env: 'PORT', default: '8080', parse: int({ min: 0, max: 65535 }), description: 'HTTP port of the API and dashboard' },
  host: { env: 'HOST', default: '127.0.0.1', parse: str, description: 'HTTP listen address' },
  natsPort: { env: 'HOTSWAP_NATS_PORT', default: '4322', parse: int({ min: 1, max: 65535 }), description: 'port of the embedded nats-server' },
  devices: { env: 'HOTSWAP_SIMULATED_DEVICES', default: '12', parse: int({ min: 0, max: 1000 }), description: 'how many simulated devices to start' },
  credentialsTtlMs: {
    env: 'HOTSWAP_DEVICE_CREDENTIALS_TTL', default: 'PT1H', parse: isoDuration,
    description: 'lifetime of the NATS credentials of devices (simulated and registered); each renews its own at 2/3 of it',
  },
  syntheticLoad: { env: 'HOTSWAP_SYNTHETIC_LOAD', default: '2', parse: int({ min: 0, max: 10_000 }), description: 'synthetic inferences per second on each simulated device with a model (0: none)' },
};

/**
 * `hotswap dev` / `npm start`: the embedded default. One process hosts every service (each with
 * its own NATS connection), a local nats-server with JetStream, PGlite read models, a local
 * artifact store, simulated devices and the API on http://127.0.0.1:8080.
 */
export async function dev(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfig(devConfig, env);
  const dataDir = resolve(defaultDataDir(env));
  mkdirSync(dataDir, { recursive: true });
  const secrets = await loadLocalSecrets(dataDir, env);

  // Operator mode, as in production: every service and every device has its own credentials, and
  // a device may only use its own subjects.
  const natsConfig = join(dataDir, 'keys', 'nats-server.conf');
  writeFileSync(natsConfig, natsServerTrustConfig(secrets.natsTrust), { mode: 0o600 });
  const nats = await startNatsServer({ host: '127.0.0.1', port: config.natsPort, storeDir: join(dataDir, 'nats'), configFile: natsConfig });
  // One tracer for every hosted service and simulated device (OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set).
  const tracing = startTracing({ serviceName: 'hotswap', env });
  const stops: Array<() => Promise<void>> = [tracing.shutdown, nats.stop];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error(String(e)));
  };
  try {
    const db = await PgliteDatabase.open({ dataDir: join(dataDir, 'pglite') });
    stops.push(() => db.close());
    const controlPlane = await startControlPlane({
      natsUrl: nats.url,
      db,
      artifacts: new LocalFileArtifactStore({ rootDir: join(dataDir, 'artifacts') }),
      secrets: { ...secrets, registrationApiKeySha256: [sha256Hex(secrets.registrationApiKey)] },
      http: { host: config.host, port: config.port },
      quiet: true,
      natsAuth: true,
      rateLimits: DEFAULT_RATE_LIMITS,
      distributor: rolloutOptionsFromEnv(env),
      monitor: monitorOptionsFromEnv(env),
      deviceRegistry: { credentialsTtlMs: config.credentialsTtlMs },
    });
    stops.push(() => controlPlane.close());
    // Short-lived, renewed on `.credentials` like a real device's.
    const specs = await withCredentials(defaultFleetSpecs(config.devices), secrets.natsTrust, config.credentialsTtlMs);
    const fleet = new FleetSimulator(specs, {
      natsServers: nats.url,
      dataDir: join(dataDir, 'devices'),
      manifestPublicKeyPem: secrets.manifestPublicKeyPem,
      syntheticLoadPerSec: config.syntheticLoad,
      logger: jsonLogger({ component: 'simulated-device' }, 'warn'),
    });
    stops.push(() => fleet.stop());
    await fleet.start();
    await fleet.waitUntilOnline();
    const readyMs = Math.round(performance.now() - startedAt);
    console.log(`HotSwap is ready in ${readyMs} ms: API and dashboard on ${controlPlane.url}, NATS on ${nats.url}, ${config.devices} simulated devices, data in ${dataDir}`);
    console.log('Get a token with: npx hotswap token --role Admin');
    console.log(`Register devices with: X-Api-Key from ${join(dataDir, 'keys', 'registration-api-key')}`);
  } catch (error) {
    await stopAll();
    throw error;
  }

  await new Promise<void>((resolveStop) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping HotSwap...`);
      void stopAll().then(() => resolveStop());
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
  });
}

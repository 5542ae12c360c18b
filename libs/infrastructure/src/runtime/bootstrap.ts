import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { LocalFileArtifactStore, S3ArtifactStore, type ArtifactStore } from '../artifact-store/index.js';
import { ConfigError, ConfigValueError, defineConfig, loadConfig, oneOf, readConfigFile, str, url, type Config } from '../config/index.js';
import { EventStoreDbEventStore, JetStreamEventStore, type EventStore } from '../event-store/index.js';
import { drainOrClose, MessageBus, natsTlsFromEnv } from '../messaging/index.js';
import { PgDatabase, PgliteDatabase, type SqlDatabase } from '../read-model/index.js';
import {
  countHttpConnections, natsConnectionCount, otelBusOptions, Readiness, serveMetrics, startMetrics, startTracing, type MetricsServer,
} from '../observability/index.js';
import { consoleLogger, type ServiceRuntime } from './service-runtime.js';

export const serviceRuntimeConfig = defineConfig({
  natsUrl: { env: 'NATS_URL', default: 'nats://127.0.0.1:4222', parse: str, description: 'NATS server URL(s), comma-separated' },
  databaseUrl: { env: 'DATABASE_URL', optional: true, parse: str, secret: true, description: 'PostgreSQL URL of the read models; PGlite under HOTSWAP_DATA_DIR when unset' },
  dataDir: { env: 'HOTSWAP_DATA_DIR', default: '.hotswap', parse: str, description: 'local data folder (PGlite, local artifacts)' },
  artifactDir: { env: 'HOTSWAP_ARTIFACT_DIR', optional: true, parse: str, description: 'folder of the local artifact store; <HOTSWAP_DATA_DIR>/artifacts when unset' },
  artifactEncryptionKey: { env: 'HOTSWAP_ARTIFACT_ENCRYPTION_KEY', optional: true, secret: true, parse: encryptionKey, description: 'base64 of a 32-byte key: the local artifact store encrypts at rest with AES-256-GCM (unencrypted when unset)' },
  s3Bucket: { env: 'HOTSWAP_S3_BUCKET', optional: true, parse: str, description: 'S3 bucket of the artifacts; set it to use S3 (or MinIO) instead of local files' },
  s3Endpoint: { env: 'HOTSWAP_S3_ENDPOINT', optional: true, parse: url, description: 'endpoint of an S3-compatible server such as MinIO (http://minio:9000); AWS S3 when unset' },
  s3Region: { env: 'HOTSWAP_S3_REGION', default: 'us-east-1', parse: str, description: 'S3 region' },
  s3Prefix: { env: 'HOTSWAP_S3_PREFIX', default: '', parse: str, description: 'key prefix inside the bucket, e.g. hotswap/' },
  natsCreds: { env: 'NATS_CREDS', optional: true, parse: natsCredsFile, description: 'path of a NATS .creds file (user JWT + seed) for an operator-mode server' },
  natsUser: { env: 'NATS_USER', optional: true, parse: str, description: 'NATS user name (with NATS_PASS)' },
  natsPass: { env: 'NATS_PASS', optional: true, secret: true, parse: str, description: 'NATS password' },
  natsToken: { env: 'NATS_TOKEN', optional: true, secret: true, parse: str, description: 'NATS token' },
  eventStore: { env: 'HOTSWAP_EVENT_STORE', default: 'jetstream', parse: oneOf(['jetstream', 'eventstoredb'] as const), description: 'the event store: NATS JetStream (the stream HOTSWAP_EVENTS) or EventStoreDB (EVENTSTOREDB_URL)' },
  eventStoreDbUrl: { env: 'EVENTSTOREDB_URL', optional: true, secret: true, parse: str, description: 'EventStoreDB connection string (esdb://eventstore:2113?tls=false); needed with HOTSWAP_EVENT_STORE=eventstoredb' },
  metricsPort: { env: 'METRICS_PORT', optional: true, parse: port, description: 'port of the GET /metrics and GET /readyz server of a NATS-only service (none when unset; the gateway serves /metrics on its own port)' },
});

function natsCredsFile(path: string): string {
  const text = readConfigFile(path, 'the credentials file');
  if (!text.includes('-----BEGIN NATS USER JWT-----')) throw new ConfigValueError(`${path} is not a NATS .creds file (no user JWT in it)`);
  return text;
}

/** How the service authenticates to NATS: a .creds file, a user and password, a token, or not at all. */
export function natsAuthFromConfig(config: Config<typeof serviceRuntimeConfig>): Pick<ConnectionOptions, 'authenticator' | 'user' | 'pass' | 'token'> {
  const given = [config.natsCreds !== undefined && 'NATS_CREDS', config.natsUser !== undefined && 'NATS_USER', config.natsToken !== undefined && 'NATS_TOKEN'].filter(Boolean);
  if (given.length > 1) throw new ConfigError([{ env: given.join(', '), problem: 'set one way to authenticate to NATS, not several' }]);
  if (config.natsPass !== undefined && config.natsUser === undefined) throw new ConfigError([{ env: 'NATS_PASS', problem: 'needs NATS_USER' }]);
  if (config.natsCreds !== undefined) return { authenticator: credsAuthenticator(new TextEncoder().encode(config.natsCreds)) };
  if (config.natsUser !== undefined) return { user: config.natsUser, ...(config.natsPass !== undefined ? { pass: config.natsPass } : {}) };
  if (config.natsToken !== undefined) return { token: config.natsToken };
  return {};
}

function port(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new ConfigValueError(`must be a port number (0-65535), got ${JSON.stringify(raw)}`);
  return value;
}

function encryptionKey(raw: string): Buffer {
  const key = Buffer.from(raw.trim(), 'base64');
  if (key.length !== 32) throw new ConfigValueError(`must be the base64 of 32 bytes (openssl rand -base64 32), got ${key.length} bytes`);
  return key;
}

/**
 * The artifact store the configuration asks for: S3 when `HOTSWAP_S3_BUCKET` is set (credentials
 * from the AWS default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, instance role),
 * local files otherwise.
 */
export function artifactStoreFromConfig(config: Config<typeof serviceRuntimeConfig>): ArtifactStore {
  if (config.s3Bucket !== undefined) {
    return new S3ArtifactStore({
      bucket: config.s3Bucket, region: config.s3Region, prefix: config.s3Prefix,
      ...(config.s3Endpoint !== undefined ? { endpoint: config.s3Endpoint } : {}),
    });
  }
  return new LocalFileArtifactStore({
    rootDir: config.artifactDir ?? join(config.dataDir, 'artifacts'),
    ...(config.artifactEncryptionKey !== undefined ? { encryptionKey: config.artifactEncryptionKey } : {}),
  });
}

/**
 * Opens the event store the configuration asks for, once NATS is connected. Every service of one
 * deployment must name the same one: they share the event stream through it. Configuration
 * problems throw here, before anything is connected.
 */
export function eventStoreFromConfig(config: Config<typeof serviceRuntimeConfig>): (nats: NatsConnection) => Promise<EventStore> {
  if (config.eventStore === 'jetstream') return (nats) => JetStreamEventStore.fromConnection(nats);
  const connectionString = config.eventStoreDbUrl;
  if (connectionString === undefined) {
    throw new ConfigError([{ env: 'EVENTSTOREDB_URL', problem: 'is required with HOTSWAP_EVENT_STORE=eventstoredb (e.g. esdb://eventstore:2113?tls=false)' }]);
  }
  let store: EventStoreDbEventStore;
  try {
    // The client connects on first use: parsing the string is all that can fail here.
    store = EventStoreDbEventStore.connect(connectionString);
  } catch (cause) {
    throw new ConfigError([{ env: 'EVENTSTOREDB_URL', problem: `is not an EventStoreDB connection string: ${(cause as Error).message}` }]);
  }
  return async () => store;
}

export interface StartedRuntime {
  readonly runtime: ServiceRuntime;
  /** `GET /metrics` of the `METRICS_PORT` server (`/readyz` beside it), when one is served. */
  readonly metricsUrl?: string;
  close(): Promise<void>;
}

/**
 * Builds a service's runtime from the environment, for a service running as its own process
 * (a container in docker-compose). Bad configuration throws one ConfigError listing every problem.
 */
export async function serviceRuntimeFromEnv(service: string, env: NodeJS.ProcessEnv = process.env): Promise<StartedRuntime> {
  const config = loadConfig(serviceRuntimeConfig, env);
  const openEventStore = eventStoreFromConfig(config);
  const auth = natsAuthFromConfig(config);
  const tls = natsTlsFromEnv(env);
  const schema = service.replace(/-/g, '_');
  if (!config.databaseUrl) await mkdir(join(config.dataDir, service), { recursive: true });
  const db: SqlDatabase = config.databaseUrl
    ? await PgDatabase.connect({ connectionString: config.databaseUrl, schema })
    : await PgliteDatabase.open({ dataDir: join(config.dataDir, service, 'pglite') });
  const nats = await connect({
    servers: config.natsUrl.split(','), name: `hotswap-${service}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, ...(tls ? { tls } : {}), ...auth,
    // The client would build an Error (a stack trace) for every request in case it times out: 5 %
    // of a busy control plane's CPU. The bus names the subject in its own timeout errors.
    noAsyncTraces: true,
  }).catch(async (error: unknown) => {
    // Refused (credentials) or unreachable: nothing of this runtime may stay open.
    await db.close();
    throw error;
  });
  const logger = consoleLogger(service);
  // One tracer and one metrics handle per process: this service is the process.
  const tracing = startTracing({ serviceName: service, env });
  const metrics = startMetrics({ serviceName: service, logger });
  metrics.observeConnections('nats', natsConnectionCount(nats));
  if (db instanceof PgDatabase) metrics.observeConnections('postgresql', () => db.openConnections);
  // What makes the service unready (e.g. a saturated distributor), served at GET /readyz next to /metrics.
  const readiness = new Readiness();
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = await serveMetrics(metrics, config.metricsPort, '0.0.0.0', {
      readiness, onServer: (server) => metrics.observeConnections('http', countHttpConnections(server)),
    });
    logger.info('serving metrics', { url: metricsServer.url });
  }
  const runtime: ServiceRuntime = {
    nats,
    bus: new MessageBus(nats, { ...otelBusOptions, logger }),
    eventStore: await openEventStore(nats),
    db,
    artifacts: artifactStoreFromConfig(config),
    clock: () => new Date(),
    logger,
    metrics,
    readiness,
  };
  return {
    runtime,
    ...(metricsServer !== undefined ? { metricsUrl: metricsServer.url } : {}),
    close: async () => {
      await runtime.eventStore.close();
      await drainOrClose(nats);
      await db.close();
      await metricsServer?.close();
      await metrics.shutdown();
      await tracing.shutdown();
    },
  };
}

/** Runs `start` and stops cleanly on SIGINT/SIGTERM; a start-up failure prints one line and exits 1. */
export function runUntilSignalled(start: () => Promise<() => Promise<void>>): void {
  start().then((stop) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) return;
      stopping = true;
      void stop().then(() => process.exit(0), (error: unknown) => { console.error(String(error)); process.exit(1); });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }, (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}

/**
 * The `main.ts` of a NATS-only service: builds its runtime from the environment, boots its Nest
 * module, and stops both on SIGINT/SIGTERM.
 */
export function runServiceModule<Options = undefined>(
  service: string,
  module: (runtime: ServiceRuntime, options: Options) => DynamicModule,
  /** Reads the service's own configuration, before anything connects. */
  configure: () => Options = () => undefined as Options,
): void {
  runUntilSignalled(async () => {
    const options = configure();
    const { runtime, close } = await serviceRuntimeFromEnv(service);
    const app = await NestFactory.createApplicationContext(module(runtime, options));
    await app.init();
    runtime.logger.info('started');
    return async () => {
      await app.close();
      await close();
    };
  });
}

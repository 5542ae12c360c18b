import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect } from '@nats-io/transport-node';
import { LocalFileArtifactStore, S3ArtifactStore, type ArtifactStore } from '../artifact-store/index.js';
import { ConfigValueError, defineConfig, loadConfig, str, url, type Config } from '../config/index.js';
import { JetStreamEventStore } from '../event-store/index.js';
import { MessageBus } from '../messaging/index.js';
import { PgDatabase, PgliteDatabase, type SqlDatabase } from '../read-model/index.js';
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
});

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

export interface StartedRuntime {
  readonly runtime: ServiceRuntime;
  close(): Promise<void>;
}

/**
 * Builds a service's runtime from the environment, for a service running as its own process
 * (a container in docker-compose). Bad configuration throws one ConfigError listing every problem.
 */
export async function serviceRuntimeFromEnv(service: string, env: NodeJS.ProcessEnv = process.env): Promise<StartedRuntime> {
  const config = loadConfig(serviceRuntimeConfig, env);
  const schema = service.replace(/-/g, '_');
  if (!config.databaseUrl) await mkdir(join(config.dataDir, service), { recursive: true });
  const db: SqlDatabase = config.databaseUrl
    ? await PgDatabase.connect({ connectionString: config.databaseUrl, schema })
    : await PgliteDatabase.open({ dataDir: join(config.dataDir, service, 'pglite') });
  const nats = await connect({ servers: config.natsUrl.split(','), name: `hotswap-${service}`, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  const logger = consoleLogger(service);
  const runtime: ServiceRuntime = {
    nats,
    bus: new MessageBus(nats, { logger }),
    eventStore: await JetStreamEventStore.fromConnection(nats),
    db,
    artifacts: artifactStoreFromConfig(config),
    clock: () => new Date(),
    logger,
  };
  return {
    runtime,
    close: async () => {
      await runtime.eventStore.close();
      await nats.drain();
      await db.close();
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

import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileArtifactStore, S3ArtifactStore } from '../artifact-store/index.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { EventStoreDbEventStore } from '../event-store/index.js';
import { artifactStoreFromConfig, eventStoreFromConfig, natsAuthFromConfig, serviceRuntimeConfig } from './bootstrap.js';

const storeFor = (env: Record<string, string>) => artifactStoreFromConfig(loadConfig(serviceRuntimeConfig, env));

describe('artifact store configuration', () => {
  it('uses local files under the data folder by default', () => {
    expect(storeFor({})).toBeInstanceOf(LocalFileArtifactStore);
  });

  it('encrypts the local store with the configured base64 key', () => {
    expect(storeFor({ HOTSWAP_ARTIFACT_ENCRYPTION_KEY: randomBytes(32).toString('base64') })).toBeInstanceOf(LocalFileArtifactStore);
  });

  it('refuses a key that is not 32 bytes without echoing it', () => {
    expect(() => storeFor({ HOTSWAP_ARTIFACT_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(
      'HOTSWAP_ARTIFACT_ENCRYPTION_KEY: must be the base64 of 32 bytes (openssl rand -base64 32), got 5 bytes',
    );
    expect(() => storeFor({ HOTSWAP_ARTIFACT_ENCRYPTION_KEY: 'c2hvcnQ=' })).not.toThrow('c2hvcnQ=');
  });

  it('uses S3 when a bucket is configured, with the endpoint and region given', async () => {
    const store = storeFor({ HOTSWAP_S3_BUCKET: 'models', HOTSWAP_S3_ENDPOINT: 'http://minio:9000', HOTSWAP_S3_REGION: 'eu-central-1' });
    expect(store).toBeInstanceOf(S3ArtifactStore);
    const client = (store as S3ArtifactStore).client;
    expect(await client.config.region()).toBe('eu-central-1');
    expect(client.config.forcePathStyle).toBe(true);
    const endpoint = await client.config.endpoint?.();
    expect(endpoint?.hostname).toBe('minio');
  });

  it('refuses an endpoint that is not a URL', () => {
    expect(() => storeFor({ HOTSWAP_S3_BUCKET: 'models', HOTSWAP_S3_ENDPOINT: 'minio' })).toThrow('HOTSWAP_S3_ENDPOINT: must be an absolute URL');
  });
});

describe('event store configuration', () => {
  const openerFor = (env: Record<string, string>) => eventStoreFromConfig(loadConfig(serviceRuntimeConfig, env));

  it('uses EventStoreDB when asked to, with the connection string given', async () => {
    const store = await openerFor({ HOTSWAP_EVENT_STORE: 'eventstoredb', EVENTSTOREDB_URL: 'esdb://eventstore:2113?tls=false' })(undefined as never);
    try {
      expect(store).toBeInstanceOf(EventStoreDbEventStore);
    } finally {
      await store.close();
    }
  });

  it('refuses EventStoreDB without a connection string, or with one it cannot read, naming the variable', () => {
    expect(() => openerFor({ HOTSWAP_EVENT_STORE: 'eventstoredb' })).toThrow(ConfigError);
    expect(() => openerFor({ HOTSWAP_EVENT_STORE: 'eventstoredb' })).toThrow('EVENTSTOREDB_URL: is required with HOTSWAP_EVENT_STORE=eventstoredb');
    expect(() => openerFor({ HOTSWAP_EVENT_STORE: 'eventstoredb', EVENTSTOREDB_URL: 'http://eventstore:2113' })).toThrow('EVENTSTOREDB_URL: is not an EventStoreDB connection string');
  });

  it('refuses an event store it does not know, listing the choices', () => {
    expect(() => openerFor({ HOTSWAP_EVENT_STORE: 'kafka' })).toThrow(/HOTSWAP_EVENT_STORE: .*jetstream.*eventstoredb/);
  });
});

describe('NATS authentication of a service', () => {
  const authFor = (env: Record<string, string>) => natsAuthFromConfig(loadConfig(serviceRuntimeConfig, env));

  it('connects anonymously by default, with a user and password, or with a token', () => {
    expect(authFor({})).toEqual({});
    expect(authFor({ NATS_USER: 'svc', NATS_PASS: 'p' })).toEqual({ user: 'svc', pass: 'p' });
    expect(authFor({ NATS_TOKEN: 't' })).toEqual({ token: 't' });
  });

  it('refuses a password without a user, and more than one way at once', () => {
    expect(() => authFor({ NATS_PASS: 'p' })).toThrow('NATS_PASS: needs NATS_USER');
    expect(() => authFor({ NATS_USER: 'svc', NATS_TOKEN: 't' })).toThrow('NATS_USER, NATS_TOKEN: set one way to authenticate to NATS, not several');
  });

  it('reads a .creds file, and refuses one it cannot read or that holds no user JWT, naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotswap-creds-'));
    try {
      const creds = join(dir, 'svc.creds');
      await writeFile(creds, '-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.sig\n------END NATS USER JWT------\n');
      expect(authFor({ NATS_CREDS: creds }).authenticator).toEqual(expect.any(Function));
      await writeFile(creds, 'not creds');
      expect(() => authFor({ NATS_CREDS: creds })).toThrow(`NATS_CREDS: ${creds} is not a NATS .creds file (no user JWT in it)`);
      expect(() => authFor({ NATS_CREDS: join(dir, 'missing.creds') })).toThrow(`NATS_CREDS: cannot read the credentials file ${join(dir, 'missing.creds')}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics port', () => {
  it('is off by default and read from METRICS_PORT', () => {
    expect(loadConfig(serviceRuntimeConfig, {}).metricsPort).toBeUndefined();
    expect(loadConfig(serviceRuntimeConfig, { METRICS_PORT: '9464' }).metricsPort).toBe(9464);
  });

  it('refuses a value that is not a port, naming the setting', () => {
    expect(() => loadConfig(serviceRuntimeConfig, { METRICS_PORT: 'http' })).toThrow('METRICS_PORT: must be a port number (0-65535), got "http"');
    expect(() => loadConfig(serviceRuntimeConfig, { METRICS_PORT: '70000' })).toThrow('METRICS_PORT');
  });
});

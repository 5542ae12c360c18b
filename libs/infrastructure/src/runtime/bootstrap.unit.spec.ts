import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { LocalFileArtifactStore, S3ArtifactStore } from '../artifact-store/index.js';
import { loadConfig } from '../config/index.js';
import { artifactStoreFromConfig, serviceRuntimeConfig } from './bootstrap.js';

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

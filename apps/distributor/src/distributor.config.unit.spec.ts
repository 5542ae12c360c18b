import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distributorOptionsFromEnv } from './distributor.config.js';

const dir = mkdtempSync(join(tmpdir(), 'distributor-config-'));
const keyFile = join(dir, 'manifest-signing.pem');
writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
const env = {
  HOTSWAP_ARTIFACT_BASE_URL: 'http://gateway:8080',
  HOTSWAP_URL_SIGNING_SECRET: 'secret',
  HOTSWAP_MANIFEST_PRIVATE_KEY_FILE: keyFile,
};

describe('distributor configuration', () => {
  it('reads the manifest signing key from the file the environment names', () => {
    const options = distributorOptionsFromEnv(env);
    expect(options.manifestPrivateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(options.artifactBaseUrl).toBe('http://gateway:8080');
  });

  it('refuses an unreadable signing key file, naming the variable and the file', () => {
    const missing = join(dir, 'nope.pem');
    expect(() => distributorOptionsFromEnv({ ...env, HOTSWAP_MANIFEST_PRIVATE_KEY_FILE: missing }))
      .toThrow(new RegExp(`HOTSWAP_MANIFEST_PRIVATE_KEY_FILE: cannot read the manifest signing key ${missing}: ENOENT`));
  });

  it('names every missing variable at once', () => {
    expect(() => distributorOptionsFromEnv({})).toThrow(/HOTSWAP_ARTIFACT_BASE_URL[\s\S]*HOTSWAP_URL_SIGNING_SECRET[\s\S]*HOTSWAP_MANIFEST_PRIVATE_KEY_FILE/);
  });
});

import { describe, expect, it } from '@jest/globals';
import { credsAuthenticator } from '@nats-io/transport-node';
import { createNatsTrust, mintDeviceCredentials } from '@hotswap/infrastructure';
import { credentialsLifetime, DeviceCredentials, InvalidCredentialsError, RENEW_AT_FRACTION } from './device-credentials.js';

describe('device credentials', () => {
  it('signs the nonce exactly as the NATS client\'s credsAuthenticator does', async () => {
    const { creds } = await mintDeviceCredentials(await createNatsTrust(), 'cred-1');
    const ours = new DeviceCredentials(creds, '/tmp/unused').authenticator('a-server-nonce');
    expect(ours).toEqual(credsAuthenticator(new TextEncoder().encode(creds))('a-server-nonce'));
  });

  it('reads the lifetime from the JWT and renews at 2/3 of it; credentials without expiry are never renewed', async () => {
    const trust = await createNatsTrust();
    const expiresAt = new Date(Date.now() + 90_000);
    const { creds } = await mintDeviceCredentials(trust, 'cred-2', { expiresAt });
    const life = credentialsLifetime(creds);
    expect(life.expiresAtMs).toBe(Math.floor(expiresAt.getTime() / 1000) * 1000);
    expect(new DeviceCredentials(creds, '/tmp/unused').renewAtMs()).toBe(life.issuedAtMs + (life.expiresAtMs! - life.issuedAtMs) * RENEW_AT_FRACTION);
    expect(new DeviceCredentials((await mintDeviceCredentials(trust, 'cred-3')).creds, '/tmp/unused').renewAtMs()).toBeUndefined();
  });

  it('refuses text that is not a .creds file, naming what is missing', async () => {
    expect(() => new DeviceCredentials('hello', '/tmp/unused')).toThrow(new InvalidCredentialsError('credentials hold no NATS user JWT (expected the text of a .creds file)'));
    const { creds } = await mintDeviceCredentials(await createNatsTrust(), 'cred-4');
    const jwtOnly = creds.replace(/-----BEGIN USER NKEY SEED-----[\s\S]*/, '');
    expect(() => new DeviceCredentials(jwtOnly, '/tmp/unused')).toThrow('credentials hold no user nkey seed (expected the text of a .creds file)');
    expect(() => new DeviceCredentials(creds.replace(/-----BEGIN NATS USER JWT-----\s*\n\s*\S+/, '-----BEGIN NATS USER JWT-----\nnot.a.jwt'), '/tmp/unused')).toThrow(InvalidCredentialsError);
    const truncatedSeed = creds.replace(/(-----BEGIN USER NKEY SEED-----\s*\n\s*SU[A-Z2-7]{10})[A-Z2-7]+/, '$1');
    expect(() => new DeviceCredentials(truncatedSeed, '/tmp/unused')).toThrow('the user nkey seed in the credentials is unusable: an nkey seed decodes to 36 bytes, got 7');
  });
});

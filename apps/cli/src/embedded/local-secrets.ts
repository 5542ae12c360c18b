import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createNatsTrust, generateSigningKeyPair, type NatsTrust } from '@hotswap/infrastructure';
import type { ControlPlaneSecrets } from './control-plane.js';

export interface LocalSecrets extends ControlPlaneSecrets {
  /** Ed25519 public key (PEM) the simulated devices pin. */
  readonly manifestPublicKeyPem: string;
  /** The device registration API key (`X-Api-Key` of `POST /api/v1/devices`). */
  readonly registrationApiKey: string;
  readonly natsTrust: NatsTrust;
}

/**
 * The embedded default's secrets, created once under `<dataDir>/keys` (mode 0600) so that a
 * restart, and `hotswap token`, use the same ones. Environment variables override them.
 */
export async function loadLocalSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<LocalSecrets> {
  const dir = join(dataDir, 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (name: string, make: () => string) => {
    const path = join(dir, name);
    if (!existsSync(path)) writeFileSync(path, make(), { mode: 0o600 });
    return readFileSync(path, 'utf8');
  };
  let pair: { privateKeyPem: string; publicKeyPem: string } | undefined;
  const keyPair = () => (pair ??= generateSigningKeyPair());
  return {
    jwtSecret: env['HOTSWAP_JWT_SECRET'] ?? file('jwt-secret', () => randomBytes(32).toString('base64url')),
    urlSigningSecret: env['HOTSWAP_URL_SIGNING_SECRET'] ?? file('url-signing-secret', () => randomBytes(32).toString('base64url')),
    manifestPrivateKeyPem: file('manifest-signing.pem', () => keyPair().privateKeyPem),
    manifestPublicKeyPem: file('manifest-signing.pub.pem', () => keyPair().publicKeyPem),
    registrationApiKey: env['HOTSWAP_REGISTRATION_API_KEY'] ?? file('registration-api-key', () => `hsk_${randomBytes(24).toString('base64url')}`),
    natsTrust: await natsTrust(dir),
  };
}

/** The operator/account keys that sign device NATS credentials, created once. */
async function natsTrust(dir: string): Promise<NatsTrust> {
  const path = join(dir, 'nats-trust.json');
  if (!existsSync(path)) writeFileSync(path, JSON.stringify(await createNatsTrust(), null, 2), { mode: 0o600 });
  return JSON.parse(readFileSync(path, 'utf8')) as NatsTrust;
}

export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

export const defaultDataDir = (env: NodeJS.ProcessEnv = process.env) => env['HOTSWAP_DATA_DIR'] ?? '.hotswap';

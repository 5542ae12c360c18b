/**
 * The device's NATS credentials (a `.creds`: user JWT + seed), swappable while connected. The
 * authenticator reads the latest credentials at every (re)connect, so renewed ones take effect on
 * the next reconnect — which the server forces at the old JWT's expiry.
 *
 * It signs the server's nonce with node:crypto: the client's own `credsAuthenticator` derives the
 * key pair and signs in pure JS (~15 ms per connect), which stalls a simulator connecting
 * thousands of devices past the server's authentication timeout.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Authenticator } from '@nats-io/transport-node';
import { nkeyFromSeed, type FastNkey } from '@hotswap/infrastructure';

export class InvalidCredentialsError extends Error {
  override readonly name = 'InvalidCredentialsError';
}

/** Where the renewed credentials are kept, in the device's data directory. */
export const CREDENTIALS_FILE = 'nats.creds';
/** Renew once this share of the credentials' lifetime has passed. */
export const RENEW_AT_FRACTION = 2 / 3;

const USER_JWT = /-----BEGIN NATS USER JWT-----\s*\n\s*([\w.-]+)\s*\n/;
const USER_SEED = /-----BEGIN USER NKEY SEED-----\s*\n\s*(SU[A-Z2-7]+)\s*\n/;

interface JwtClaims {
  readonly iat?: unknown;
  readonly exp?: unknown;
  readonly sub?: unknown;
}

/**
 * The JWT's claims, unverified: the server verifies them. Not `@nats-io/jwt`'s `decode`, which
 * checks the signature in pure JS (~15 ms): too slow for a simulator holding thousands of devices.
 */
function readClaims(jwt: string): JwtClaims {
  const payload = jwt.split('.')[1];
  if (payload === undefined) throw new Error('a JWT has three parts');
  const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  if (typeof claims !== 'object' || claims === null) throw new Error('the JWT payload is not an object');
  return claims as JwtClaims;
}

export interface CredentialsLifetime {
  /** Issue time, ms since the epoch. */
  readonly issuedAtMs: number;
  /** Expiry, ms since the epoch; undefined when the credentials never expire. */
  readonly expiresAtMs?: number;
}

/** Reads `iat` and `exp` (seconds) from the user JWT of a `.creds` text. @throws InvalidCredentialsError */
export function credentialsLifetime(creds: string): CredentialsLifetime {
  const jwt = USER_JWT.exec(creds)?.[1];
  if (jwt === undefined) throw new InvalidCredentialsError('credentials hold no NATS user JWT (expected the text of a .creds file)');
  let claims: JwtClaims;
  try {
    claims = readClaims(jwt);
  } catch (err) {
    throw new InvalidCredentialsError('the NATS user JWT in the credentials cannot be decoded', { cause: err });
  }
  if (typeof claims.iat !== 'number') throw new InvalidCredentialsError('the NATS user JWT in the credentials has no iat');
  return { issuedAtMs: claims.iat * 1000, ...(typeof claims.exp === 'number' ? { expiresAtMs: claims.exp * 1000 } : {}) };
}

interface ParsedCredentials {
  readonly jwt: string;
  /** The user's public nkey (the JWT's `sub`). */
  readonly nkey: string;
  readonly key: FastNkey;
  readonly life: CredentialsLifetime;
}

/** @throws InvalidCredentialsError */
function parseCredentials(creds: string): ParsedCredentials {
  const life = credentialsLifetime(creds);
  const jwt = USER_JWT.exec(creds)?.[1] as string;
  const seed = USER_SEED.exec(creds)?.[1];
  if (seed === undefined) throw new InvalidCredentialsError('credentials hold no user nkey seed (expected the text of a .creds file)');
  let key: FastNkey;
  try {
    key = nkeyFromSeed(seed);
  } catch (err) {
    throw new InvalidCredentialsError(`the user nkey seed in the credentials is unusable: ${(err as Error).message}`, { cause: err });
  }
  const { sub } = readClaims(jwt);
  if (typeof sub !== 'string') throw new InvalidCredentialsError('the NATS user JWT in the credentials has no sub');
  return { jwt, nkey: sub, key, life };
}

export class DeviceCredentials {
  private creds: string;
  private parsed: ParsedCredentials;
  readonly path: string;
  /** For `connect({ authenticator })`: signs the server's nonce with the latest credentials. */
  readonly authenticator: Authenticator;

  /** @throws InvalidCredentialsError when `initial` is not a usable `.creds` text. */
  constructor(initial: string, dataDir: string) {
    this.parsed = parseCredentials(initial);
    this.creds = initial;
    this.path = join(dataDir, CREDENTIALS_FILE);
    this.authenticator = (nonce?: string) => {
      const { jwt, nkey, key } = this.parsed;
      return { jwt, nkey, sig: nonce ? key.sign(Buffer.from(nonce)).toString('base64') : '' };
    };
  }

  get lifetime(): CredentialsLifetime {
    return this.parsed.life;
  }

  get current(): string {
    return this.creds;
  }

  /**
   * Takes the credentials stored by an earlier run when they outlive the configured ones (the
   * configured ones may have expired since the device was provisioned).
   */
  async loadStored(): Promise<boolean> {
    let stored: string;
    try {
      stored = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    const parsed = parseCredentials(stored);
    const current = this.parsed.life.expiresAtMs;
    if (current === undefined || (parsed.life.expiresAtMs !== undefined && parsed.life.expiresAtMs <= current)) return false;
    this.use(stored, parsed);
    return true;
  }

  /** Stores `creds` (atomically, owner-only) and uses them from the next connect. @throws InvalidCredentialsError */
  async replace(creds: string): Promise<void> {
    const parsed = parseCredentials(creds);
    const part = `${this.path}.part`;
    await writeFile(part, creds, { mode: 0o600 });
    await chmod(part, 0o600);
    await rename(part, this.path);
    this.use(creds, parsed);
  }

  /** When to renew, ms since the epoch; undefined for credentials that never expire. */
  renewAtMs(): number | undefined {
    const { issuedAtMs, expiresAtMs } = this.parsed.life;
    return expiresAtMs === undefined ? undefined : issuedAtMs + (expiresAtMs - issuedAtMs) * RENEW_AT_FRACTION;
  }

  private use(creds: string, parsed: ParsedCredentials): void {
    this.creds = creds;
    this.parsed = parsed;
  }
}

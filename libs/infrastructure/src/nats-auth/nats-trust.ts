/**
 * Decentralized NATS auth for the fleet: an operator, one account for HotSwap, and user JWTs
 * minted per device at registration. A device's JWT allows only its own subjects
 * (`hotswap.device.<id>.>`) and its own inbox prefix, so it can neither read another device's
 * commands nor speak for another device — and no server reload is needed to add a device: the
 * server trusts anything the account key signs (`resolver: MEMORY`, account JWT preloaded).
 * User credentials are minted with node:crypto (see nkeys.ts); the operator and account, made
 * once, with `@nats-io/jwt`.
 */
import { createHash } from 'node:crypto';
import { encodeAccount, encodeOperator } from '@nats-io/jwt';
import { createAccount, createOperator } from '@nats-io/nkeys';
import { DEVICE_ID_PATTERN, encodeSubjectToken } from '@hotswap/contracts';
import { createNkey, NkeyRole, nkeyFromSeed, type FastNkey } from './nkeys.js';

/** Serializable trust material; keep the seeds secret (the account seed mints credentials). */
export interface NatsTrust {
  readonly operatorJwt: string;
  readonly operatorSeed: string;
  readonly accountJwt: string;
  readonly accountSeed: string;
  readonly accountPublicKey: string;
  /** The server's own system account (JetStream needs one in operator mode). */
  readonly systemAccountJwt: string;
  readonly systemAccountPublicKey: string;
}

export interface NatsCredentials {
  readonly jwt: string;
  readonly seed: string;
  /** The `.creds` file content (`credsAuthenticator(new TextEncoder().encode(creds))`). */
  readonly creds: string;
  /** The inbox prefix the holder must connect with (devices only). */
  readonly inboxPrefix?: string;
}

export class InvalidDeviceIdError extends Error {
  override readonly name = 'InvalidDeviceIdError';
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const TRUST_FIELDS = ['operatorJwt', 'operatorSeed', 'accountJwt', 'accountSeed', 'accountPublicKey', 'systemAccountJwt', 'systemAccountPublicKey'] as const;

/**
 * Reads trust material as `createNatsTrust` made it and the embedded default keeps it
 * (`.hotswap/keys/nats-trust.json`). `source` names it in errors (a file path).
 * @throws Error naming what is wrong (not JSON, or which field is missing)
 */
export function parseNatsTrust(text: string, source: string): NatsTrust {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`the NATS trust ${source} is not JSON: ${(error as Error).message}`);
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const missing = TRUST_FIELDS.filter((field) => typeof record[field] !== 'string' || record[field] === '');
  if (missing.length > 0) throw new Error(`the NATS trust ${source} lacks ${missing.join(', ')} (expected the nats-trust.json the embedded default writes)`);
  return Object.fromEntries(TRUST_FIELDS.map((field) => [field, record[field]])) as unknown as NatsTrust;
}

/** Creates an operator and the HotSwap account, with JetStream enabled for the account. */
export async function createNatsTrust(): Promise<NatsTrust> {
  const operator = createOperator();
  const account = createAccount();
  const system = createAccount();
  const operatorJwt = await encodeOperator('hotswap-operator', operator, { system_account: system.getPublicKey() });
  const systemAccountJwt = await encodeAccount('SYS', system, {}, { signer: operator });
  const accountJwt = await encodeAccount('HOTSWAP', account, {
    limits: { conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  }, { signer: operator });
  return {
    operatorJwt,
    operatorSeed: text(operator.getSeed()),
    accountJwt,
    accountSeed: text(account.getSeed()),
    accountPublicKey: account.getPublicKey(),
    systemAccountJwt,
    systemAccountPublicKey: system.getPublicKey(),
  };
}

/** The nats-server configuration lines that trust `trust` (append listen, JetStream, leaf settings). */
export function natsServerTrustConfig(trust: NatsTrust): string {
  return [
    `operator: ${trust.operatorJwt}`,
    `system_account: ${trust.systemAccountPublicKey}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${trust.accountPublicKey}: ${trust.accountJwt}`,
    `  ${trust.systemAccountPublicKey}: ${trust.systemAccountJwt}`,
    '}',
  ].join('\n');
}

/** The inbox prefix a device connects with (`inboxPrefix` connection option). */
export const deviceInboxPrefix = (deviceId: string) => `_INBOX_${encodeSubjectToken(deviceId)}`;

export interface MintOptions {
  /** When the credentials stop working; default never. */
  readonly expiresAt?: Date;
  /** The JWT's issue time (`iat`); default now. */
  readonly issuedAt?: Date;
}

/** Credentials of one device: publish and subscribe only on its own subjects and inbox. */
export async function mintDeviceCredentials(trust: NatsTrust, deviceId: string, options: MintOptions = {}): Promise<NatsCredentials> {
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new InvalidDeviceIdError(`device id "${deviceId}" must match ${DEVICE_ID_PATTERN.source}`);
  const own = `hotswap.device.${encodeSubjectToken(deviceId)}.>`;
  const inboxPrefix = deviceInboxPrefix(deviceId);
  return mint(trust, `device-${deviceId}`, {
    pub: { allow: [own] },
    sub: { allow: [own, `${inboxPrefix}.>`] },
    // Lets the device answer the requests it receives (command acks) on the caller's inbox.
    resp: { max: 1, ttl: 0 },
  }, options, inboxPrefix);
}

/** Credentials of a control-plane service: the whole account. */
export function mintServiceCredentials(trust: NatsTrust, service: string): Promise<NatsCredentials> {
  return mint(trust, `service-${service}`, {});
}

/** NATS permissions of a user JWT (the `nats` claim's `pub`, `sub`, `resp`). */
export interface UserPermissions {
  readonly pub?: { readonly allow: readonly string[] };
  readonly sub?: { readonly allow: readonly string[] };
  readonly resp?: { readonly max: number; readonly ttl: number };
}

/** Signing keys by trust, parsed once: minting thousands of credentials re-reads no seed. */
const accountKeys = new WeakMap<NatsTrust, FastNkey>();

function accountKey(trust: NatsTrust): FastNkey {
  let key = accountKeys.get(trust);
  if (key === undefined) {
    key = nkeyFromSeed(trust.accountSeed);
    accountKeys.set(trust, key);
  }
  return key;
}

async function mint(trust: NatsTrust, name: string, permissions: UserPermissions, options: MintOptions = {}, inboxPrefix?: string): Promise<NatsCredentials> {
  const user = createNkey(NkeyRole.user);
  const jwt = encodeUserJwt(name, user.publicKey, accountKey(trust), permissions, {
    issuedAt: options.issuedAt ?? new Date(),
    ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}),
  });
  return { jwt, seed: user.seed, creds: formatCreds(jwt, user.seed), ...(inboxPrefix ? { inboxPrefix } : {}) };
}

const JWT_HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' })).toString('base64url');

/**
 * A user JWT signed by `account`, byte for byte what `@nats-io/jwt`'s `encodeUser` makes for the
 * same keys and second (same claims in the same order, `jti` the base64 SHA-512 of the claims),
 * but signed by node:crypto.
 */
export function encodeUserJwt(
  name: string,
  userPublicKey: string,
  account: FastNkey,
  permissions: UserPermissions,
  times: { readonly issuedAt: Date; readonly expiresAt?: Date },
): string {
  const claims: Record<string, unknown> = {
    ...(times.expiresAt ? { exp: Math.floor(times.expiresAt.getTime() / 1000) } : {}),
    aud: 'NATS',
    name,
    sub: userPublicKey,
    nats: { data: -1, payload: -1, subs: -1, ...permissions, type: 'user', version: 2 },
    iss: account.publicKey,
    iat: Math.floor(times.issuedAt.getTime() / 1000),
  };
  claims.jti = createHash('sha512').update(JSON.stringify(claims)).digest('base64');
  const signed = `${JWT_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signed}.${account.sign(Buffer.from(signed)).toString('base64url')}`;
}

/** The `.creds` text of a user JWT and its seed, as `@nats-io/jwt`'s `fmtCreds` writes it. */
export function formatCreds(jwt: string, seed: string): string {
  return `-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${seed}
------END USER NKEY SEED------
`;
}

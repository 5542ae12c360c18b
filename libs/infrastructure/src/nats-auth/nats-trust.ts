/**
 * Decentralized NATS auth for the fleet: an operator, one account for HotSwap, and user JWTs
 * minted per device at registration. A device's JWT allows only its own subjects
 * (`hotswap.device.<id>.>`) and its own inbox prefix, so it can neither read another device's
 * commands nor speak for another device — and no server reload is needed to add a device: the
 * server trusts anything the account key signs (`resolver: MEMORY`, account JWT preloaded).
 */
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { DEVICE_ID_PATTERN, encodeSubjectToken } from '@hotswap/contracts';

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

/** Credentials of one device: publish and subscribe only on its own subjects and inbox. */
export async function mintDeviceCredentials(trust: NatsTrust, deviceId: string, options: { expiresAt?: Date } = {}): Promise<NatsCredentials> {
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new InvalidDeviceIdError(`device id "${deviceId}" must match ${DEVICE_ID_PATTERN.source}`);
  const own = `hotswap.device.${encodeSubjectToken(deviceId)}.>`;
  const inboxPrefix = deviceInboxPrefix(deviceId);
  return mint(trust, `device-${deviceId}`, {
    pub: { allow: [own] },
    sub: { allow: [own, `${inboxPrefix}.>`] },
    // Lets the device answer the requests it receives (command acks) on the caller's inbox.
    resp: { max: 1, ttl: 0 },
  }, options.expiresAt, inboxPrefix);
}

/** Credentials of a control-plane service: the whole account. */
export function mintServiceCredentials(trust: NatsTrust, service: string): Promise<NatsCredentials> {
  return mint(trust, `service-${service}`, {});
}

async function mint(
  trust: NatsTrust,
  name: string,
  permissions: { pub?: { allow: string[] }; sub?: { allow: string[] }; resp?: { max: number; ttl: number } },
  expiresAt?: Date,
  inboxPrefix?: string,
): Promise<NatsCredentials> {
  const user: KeyPair = createUser();
  const account = fromSeed(new TextEncoder().encode(trust.accountSeed));
  const jwt = await encodeUser(name, user, account, permissions, expiresAt ? { exp: Math.floor(expiresAt.getTime() / 1000) } : {});
  const seed = text(user.getSeed());
  return { jwt, seed, creds: text(fmtCreds(jwt, user)), ...(inboxPrefix ? { inboxPrefix } : {}) };
}

import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { decode, encodeUser, fmtCreds, type User } from '@nats-io/jwt';
import { createAccount, createCurve, createServer, createUser, fromPublic, fromSeed } from '@nats-io/nkeys';
import { createNatsTrust, encodeUserJwt, formatCreds, mintDeviceCredentials, mintServiceCredentials, type UserPermissions } from './nats-trust.js';
import { createNkey, InvalidNkeyError, NkeyRole, nkeyFromSeed } from './nkeys.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

afterEach(() => {
  jest.restoreAllMocks();
});

describe('nkeys on node:crypto', () => {
  it('derive the same public key and signatures as @nats-io/nkeys from a seed', () => {
    for (const theirs of [createUser(), createAccount()]) {
      const ours = nkeyFromSeed(text(theirs.getSeed()));
      expect(ours.publicKey).toBe(theirs.getPublicKey());
      expect(ours.seed).toBe(text(theirs.getSeed()));
      expect(new Uint8Array(ours.sign(bytes('a nonce')))).toEqual(theirs.sign(bytes('a nonce')));
    }
  });

  it('make new keys that @nats-io/nkeys reads back, with the role in the prefix', () => {
    const user = createNkey(NkeyRole.user);
    expect(user.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
    expect(user.seed).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(fromSeed(bytes(user.seed)).getPublicKey()).toBe(user.publicKey);
    expect(fromPublic(user.publicKey).verify(bytes('x'), user.sign(bytes('x')))).toBe(true);
    expect(createNkey(NkeyRole.account).seed).toMatch(/^SA/);
    expect(createNkey(NkeyRole.user).seed).not.toBe(user.seed);
  });

  it('refuse a seed with a bad checksum, a public key, a foreign character or the wrong length', () => {
    const seed = text(createUser().getSeed());
    const flipped = `${seed.slice(0, 10)}${seed[10] === 'A' ? 'B' : 'A'}${seed.slice(11)}`;
    expect(() => nkeyFromSeed(flipped)).toThrow(new InvalidNkeyError('the nkey seed has a bad checksum'));
    const publicKey = createUser().getPublicKey();
    expect(() => nkeyFromSeed(publicKey)).toThrow(InvalidNkeyError);
    expect(() => nkeyFromSeed(`${seed.slice(0, -1)}1`)).toThrow('"1" is not a base32 character');
    expect(() => nkeyFromSeed(seed.slice(0, 40))).toThrow('an nkey seed decodes to 36 bytes, got 25');
  });

  it('refuse the seed of a key that signs no JWT (a server or curve key)', () => {
    expect(() => nkeyFromSeed(text(createServer().getSeed()))).toThrow('the nkey seed has role byte 104; expected an operator, account or user seed');
    expect(() => nkeyFromSeed(text(createCurve().getSeed()))).toThrow(InvalidNkeyError);
  });
});

describe('user JWTs signed with node:crypto', () => {
  const device: UserPermissions = { pub: { allow: ['hotswap.device.d1.>'] }, sub: { allow: ['hotswap.device.d1.>', '_INBOX_d1.>'] }, resp: { max: 1, ttl: 0 } };
  const issuedAt = new Date('2026-11-28T09:00:00.400Z');

  it('are byte for byte what @nats-io/jwt encodes for the same keys and second, with and without expiry', async () => {
    const account = createAccount();
    const user = createUser();
    jest.spyOn(Date, 'now').mockReturnValue(issuedAt.getTime());
    const expiresAt = new Date('2026-11-28T10:00:00.900Z');
    const theirs = await encodeUser('device-d1', user, account, device as Partial<User>, { exp: Math.floor(expiresAt.getTime() / 1000) });
    const ours = encodeUserJwt('device-d1', user.getPublicKey(), nkeyFromSeed(text(account.getSeed())), device, { issuedAt, expiresAt });
    expect(ours).toBe(theirs);
    const service = encodeUserJwt('service-x', user.getPublicKey(), nkeyFromSeed(text(account.getSeed())), {}, { issuedAt });
    expect(service).toBe(await encodeUser('service-x', user, account, {}));
    expect(formatCreds(ours, text(user.getSeed()))).toBe(text(fmtCreds(ours, user)));
  });

  it('decode and verify with @nats-io/jwt, issued by the trust account, limited to the device', async () => {
    const trust = await createNatsTrust();
    const expiresAt = new Date(Date.now() + 3_600_000);
    const minted = await mintDeviceCredentials(trust, 'dev-7', { expiresAt, issuedAt });
    const claims = decode<User>(minted.jwt);
    expect(claims).toMatchObject({
      iss: trust.accountPublicKey, sub: nkeyFromSeed(minted.seed).publicKey, name: 'device-dev-7', aud: 'NATS',
      iat: Math.floor(issuedAt.getTime() / 1000), exp: Math.floor(expiresAt.getTime() / 1000),
      nats: { type: 'user', version: 2, pub: { allow: ['hotswap.device.dev-7.>'] }, sub: { allow: ['hotswap.device.dev-7.>', '_INBOX_dev-7.>'] }, resp: { max: 1, ttl: 0 } },
    });
    expect(minted.inboxPrefix).toBe('_INBOX_dev-7');
    const service = decode<User>((await mintServiceCredentials(trust, 'gateway')).jwt);
    expect(service.name).toBe('service-gateway');
    expect(service.exp).toBeUndefined();
  });

  it('mint device credentials an order of magnitude faster than the pure-JS path', async () => {
    const trust = await createNatsTrust();
    const perDevice = async (n: number, mintOne: (i: number) => Promise<unknown>) => {
      const started = performance.now();
      for (let i = 0; i < n; i++) await mintOne(i);
      return (performance.now() - started) / n;
    };
    const account = fromSeed(bytes(trust.accountSeed));
    const pureJsMs = await perDevice(5, (i) => encodeUser(`device-p${i}`, createUser(), fromSeed(account.getSeed()), device as Partial<User>));
    const fastMs = await perDevice(500, (i) => mintDeviceCredentials(trust, `f${i}`, { expiresAt: new Date(Date.now() + 60_000) }));
    process.stdout.write(`credential minting per device: pure JS ${pureJsMs.toFixed(2)} ms, node:crypto ${fastMs.toFixed(3)} ms (${Math.round(pureJsMs / fastMs)}x)\n`);
    expect(fastMs * 10).toBeLessThan(pureJsMs);
  });
});

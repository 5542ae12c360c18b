/**
 * NATS nkeys on node:crypto. An nkey seed is a 32-byte Ed25519 seed in NATS's base32 text form
 * (prefix bytes, key, CRC-16); `@nats-io/nkeys` derives and signs in pure JS (~10 ms per key pair
 * here), node:crypto in microseconds, which is what lets a registry mint thousands of credentials.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export class InvalidNkeyError extends Error {
  override readonly name = 'InvalidNkeyError';
}

/** The role byte of an nkey (what its text starts with: `O…`, `A…`, `U…`; seeds `SO…`, `SA…`, `SU…`). */
export const NkeyRole = { operator: 14 << 3, account: 0, user: 20 << 3 } as const;
export type NkeyRole = (typeof NkeyRole)[keyof typeof NkeyRole];

const SEED_PREFIX = 18 << 3;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
/** Length of the DER SPKI prefix of an Ed25519 public key; the 32-byte key follows. */
const SPKI_ED25519_PREFIX_LENGTH = 12;

/** An nkey pair whose private half signs through node:crypto. */
export interface FastNkey {
  /** The public key text (`U…`, `A…`). */
  readonly publicKey: string;
  /** The seed text (`SU…`, `SA…`): the secret. */
  readonly seed: string;
  readonly privateKey: KeyObject;
  /** Ed25519 signature of `data`. */
  sign(data: Uint8Array): Buffer;
}

/**
 * A new random nkey pair of `role`. OpenSSL draws the seed from its CSPRNG (as `randomBytes`
 * would); generating and exporting it as a JWK takes ~50 µs, where importing a seed as PKCS#8 DER
 * takes ~400 µs (OpenSSL 3's decoder), which would be most of a mint.
 */
export function createNkey(role: NkeyRole): FastNkey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const { d, x } = privateKey.export({ format: 'jwk' });
  return fastNkey(role, Buffer.from(d as string, 'base64url'), Buffer.from(x as string, 'base64url'), privateKey);
}

/** The key pair of a seed text (`SA…`, `SU…`). @throws InvalidNkeyError */
export function nkeyFromSeed(seed: string): FastNkey {
  const raw = base32Decode(seed);
  // 2 bytes of prefix, the 32-byte Ed25519 seed, a 2-byte checksum.
  if (raw.length !== 36) throw new InvalidNkeyError(`an nkey seed decodes to 36 bytes, got ${raw.length}`);
  if (crc16(raw.subarray(0, 34)) !== raw.readUInt16LE(34)) throw new InvalidNkeyError('the nkey seed has a bad checksum');
  if ((raw[0] & 0xf8) !== SEED_PREFIX) throw new InvalidNkeyError('the text is not an nkey seed (it must start with S)');
  const role = ((raw[0] & 0x07) << 5) | ((raw[1] & 0xf8) >> 3);
  if (!Object.values(NkeyRole).includes(role as NkeyRole)) throw new InvalidNkeyError(`the nkey seed has role byte ${role}; expected an operator, account or user seed`);
  return nkeyOf(role as NkeyRole, raw.subarray(2, 34));
}

function nkeyOf(role: NkeyRole, rawSeed: Buffer): FastNkey {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, rawSeed]), format: 'der', type: 'pkcs8' });
  const rawPublic = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX_LENGTH);
  return fastNkey(role, rawSeed, rawPublic, privateKey);
}

function fastNkey(role: NkeyRole, rawSeed: Buffer, rawPublic: Buffer, privateKey: KeyObject): FastNkey {
  return {
    publicKey: encode(Buffer.from([role]), rawPublic),
    seed: encode(Buffer.from([SEED_PREFIX | (role >> 5), (role & 0x1f) << 3]), rawSeed),
    privateKey,
    sign: (data) => sign(null, data, privateKey),
  };
}

/** NATS's text form: base32 (no padding) of prefix + payload + CRC-16 (little-endian). */
function encode(prefix: Buffer, payload: Buffer): string {
  const body = Buffer.concat([prefix, payload, Buffer.alloc(2)]);
  body.writeUInt16LE(crc16(body.subarray(0, body.length - 2)), body.length - 2);
  return base32Encode(body);
}

function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** @throws InvalidNkeyError on a character outside the base32 alphabet */
export function base32Decode(text: string): Buffer {
  const out = Buffer.alloc(Math.floor((text.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const char of text) {
    const digit = BASE32.indexOf(char);
    if (digit < 0) throw new InvalidNkeyError(`"${char}" is not a base32 character`);
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[j++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out.subarray(0, j);
}

/** CRC-16/XMODEM (polynomial 0x1021), as nkeys checksum their text. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * Ed25519 signatures over release manifests. The control plane signs with its private key; devices
 * verify with the pinned public key before they download anything. The signature covers
 * `canonicalManifest(manifest)`, so field order and whitespace of the JSON on the wire do not matter.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { canonicalManifest, ReleaseManifest, SignedManifest } from '@hotswap/contracts';
import { formatValidationErrors } from '../messaging/class-validator.js';

export interface SigningKeyPair {
  /** PKCS#8 PEM; keep it secret (control plane only). */
  readonly privateKeyPem: string;
  /** SPKI PEM; pinned on every device. */
  readonly publicKeyPem: string;
}

export interface VerifyManifestOptions {
  /** The instant the manifest must not have expired at. */
  readonly now: Date;
}

export type ManifestRejection = 'malformed' | 'bad-signature' | 'expired';

export type ManifestVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ManifestRejection; /** Human-readable detail. */ readonly message: string };

/** A key that is not an Ed25519 key in PEM form: a configuration error, not a bad manifest. */
export class InvalidSigningKeyError extends Error {
  override readonly name = 'InvalidSigningKeyError';
}

const ED25519_SIGNATURE_BYTES = 64;

export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Checks the pinned key(s) at start-up: one PEM block, or a bundle of several while keys rotate.
 * @throws InvalidSigningKeyError when one of them is not an Ed25519 public key.
 */
export function assertManifestPublicKey(publicKeyPem: string): void {
  pinnedPublicKeys(publicKeyPem);
}

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----/g;

/**
 * The Ed25519 public keys pinned in `pem`: one PEM block, or several concatenated (a bundle, like
 * a CA bundle). A device pinning the old and the new key accepts manifests signed with either, so
 * the signing key can rotate without a window in which devices refuse every release.
 * @throws InvalidSigningKeyError naming the block that is not an Ed25519 public key
 */
export function pinnedPublicKeys(pem: string): readonly KeyObject[] {
  // Each key is parsed once (ed25519Key keeps public keys); splitting the text is all that repeats.
  // No block at all: parsed whole, so the error says it is not a PEM key.
  const blocks = pem.match(PEM_BLOCK) ?? [pem];
  return blocks.map((block, index) => {
    try {
      return ed25519Key(block, 'public');
    } catch (err) {
      if (blocks.length === 1 || !(err instanceof InvalidSigningKeyError)) throw err;
      throw new InvalidSigningKeyError(`pinned key ${index + 1} of ${blocks.length}: ${err.message}`, { cause: err.cause });
    }
  });
}

/** Whether `signature` over `data` verifies under one of the pinned keys. */
export function verifiesUnderPinnedKey(data: Buffer, signature: string, keys: readonly KeyObject[]): boolean {
  const sig = Buffer.from(signature, 'base64');
  return sig.length === ED25519_SIGNATURE_BYTES && keys.some((key) => verify(null, data, key, sig));
}

/** How a signature failure reads: against the one pinned key, or any of several. */
export function pinnedKeysPhrase(keys: readonly KeyObject[]): string {
  return keys.length === 1 ? 'the pinned public key' : `any of the ${keys.length} pinned public keys`;
}

/** @throws InvalidSigningKeyError when `privateKeyPem` is not an Ed25519 private key. */
export function signManifest(manifest: ReleaseManifest, privateKeyPem: string): SignedManifest {
  const key = ed25519Key(privateKeyPem, 'private');
  const signature = sign(null, Buffer.from(canonicalManifest(manifest)), key).toString('base64');
  return { manifest: { ...manifest }, signature };
}

/**
 * Checks shape, then signature, then expiry (a forged manifest is reported as forged, whatever its
 * dates say). `publicKeyPem` may be a bundle of pinned keys (`pinnedPublicKeys`). Never throws for
 * a bad manifest; throws InvalidSigningKeyError for a bad key.
 */
export function verifyManifest(signed: unknown, publicKeyPem: string, options: VerifyManifestOptions): ManifestVerdict {
  const keys = pinnedPublicKeys(publicKeyPem);
  const problem = shapeProblem(signed);
  if (problem !== undefined) return { ok: false, reason: 'malformed', message: `malformed manifest: ${problem}` };
  const { manifest, signature } = signed as SignedManifest;
  if (!verifiesUnderPinnedKey(Buffer.from(canonicalManifest(manifest)), signature, keys)) {
    return { ok: false, reason: 'bad-signature', message: `manifest signature does not verify against ${pinnedKeysPhrase(keys)}` };
  }
  if (options.now.getTime() >= Date.parse(manifest.expiresAt)) {
    return { ok: false, reason: 'expired', message: `manifest expired at ${manifest.expiresAt}` };
  }
  return { ok: true };
}

function shapeProblem(signed: unknown): string | undefined {
  if (typeof signed !== 'object' || signed === null) return 'expected an object { manifest, signature }';
  const errors = validateSync(plainToInstance(SignedManifest, signed), { whitelist: true, forbidNonWhitelisted: true });
  return errors.length === 0 ? undefined : formatValidationErrors(errors);
}

/**
 * Parsed public keys by PEM. A device verifies every command against the keys it pins, and the
 * fleet simulator runs thousands of devices on one key: parsing it per command was the largest
 * single item in a swap's synchronous stretch. A few at most (rotation).
 */
const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_PUBLIC_KEYS = 16;
/** Signing keys parsed once: a process holds one or two (during a rotation). */
const privateKeys = new Map<string, KeyObject>();
const MAX_CACHED_PRIVATE_KEYS = 4;

/** The Ed25519 key in `pem`. @throws InvalidSigningKeyError */
export function ed25519Key(pem: string, kind: 'public' | 'private'): KeyObject {
  if (kind === 'public') {
    const cached = publicKeys.get(pem);
    if (cached !== undefined) return cached;
    const key = parseEd25519Key(pem, kind);
    if (publicKeys.size >= MAX_CACHED_PUBLIC_KEYS) publicKeys.clear();
    publicKeys.set(pem, key);
    return key;
  }
  // Parsing a PEM costs ten times the signature itself; a distributor signs one manifest per device.
  const cached = privateKeys.get(pem);
  if (cached !== undefined) return cached;
  const key = parseEd25519Key(pem, kind);
  if (privateKeys.size >= MAX_CACHED_PRIVATE_KEYS) privateKeys.clear();
  privateKeys.set(pem, key);
  return key;
}

function parseEd25519Key(pem: string, kind: 'public' | 'private'): KeyObject {
  let key: KeyObject;
  try {
    key = kind === 'public' ? createPublicKey(pem) : createPrivateKey(pem);
  } catch (cause) {
    throw new InvalidSigningKeyError(`the ${kind} key is not a valid PEM key`, { cause });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InvalidSigningKeyError(`the ${kind} key is ${key.asymmetricKeyType}, expected ed25519`);
  }
  return key;
}

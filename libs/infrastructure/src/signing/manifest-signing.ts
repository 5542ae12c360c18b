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

/** Checks a pinned key at start-up. @throws InvalidSigningKeyError when it is not an Ed25519 public key. */
export function assertManifestPublicKey(publicKeyPem: string): void {
  ed25519Key(publicKeyPem, 'public');
}

/** @throws InvalidSigningKeyError when `privateKeyPem` is not an Ed25519 private key. */
export function signManifest(manifest: ReleaseManifest, privateKeyPem: string): SignedManifest {
  const key = ed25519Key(privateKeyPem, 'private');
  const signature = sign(null, Buffer.from(canonicalManifest(manifest)), key).toString('base64');
  return { manifest: { ...manifest }, signature };
}

/**
 * Checks shape, then signature, then expiry (a forged manifest is reported as forged, whatever its
 * dates say). Never throws for a bad manifest; throws InvalidSigningKeyError for a bad key.
 */
export function verifyManifest(signed: unknown, publicKeyPem: string, options: VerifyManifestOptions): ManifestVerdict {
  const key = ed25519Key(publicKeyPem, 'public');
  const problem = shapeProblem(signed);
  if (problem !== undefined) return { ok: false, reason: 'malformed', message: `malformed manifest: ${problem}` };
  const { manifest, signature } = signed as SignedManifest;
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== ED25519_SIGNATURE_BYTES || !verify(null, Buffer.from(canonicalManifest(manifest)), key, sig)) {
    return { ok: false, reason: 'bad-signature', message: 'manifest signature does not verify against the pinned public key' };
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

/** The Ed25519 key in `pem`. @throws InvalidSigningKeyError */
export function ed25519Key(pem: string, kind: 'public' | 'private'): KeyObject {
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

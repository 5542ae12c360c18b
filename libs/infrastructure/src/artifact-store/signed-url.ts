/**
 * Signed download URLs for the local artifact store: an HMAC-SHA256 over the key and the expiry
 * lets a device download one artifact until a deadline, without credentials. Pure functions; the
 * clock is an argument.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { assertValidArtifactKey } from './artifact-key.js';

export interface SignUrlOptions {
  /** The URL stops being valid at this instant (rounded down to the second). */
  readonly expiresAt: Date;
  /** HMAC key shared by the signer and the verifier; use at least 32 random bytes. */
  readonly secret: string | Uint8Array;
}

export interface VerifySignedUrlOptions {
  readonly now: Date;
  readonly secret: string | Uint8Array;
  /** Keys being rotated out: URLs they signed stay valid until they expire. */
  readonly previousSecrets?: readonly (string | Uint8Array)[];
}

export type SignedUrlVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: 'expired' | 'bad-signature' };

/** `<baseUrl>/artifacts/<key>?expires=<unix seconds>&sig=<hex HMAC-SHA256>`. */
export function signUrl(baseUrl: string, key: string, options: SignUrlOptions): string {
  assertValidArtifactKey(key);
  const expiresMs = options.expiresAt.getTime();
  if (!Number.isFinite(expiresMs)) throw new TypeError('expiresAt is not a valid date');
  const expires = Math.floor(expiresMs / 1000);
  const sig = signature(key, String(expires), options.secret);
  // Keys only hold URL-safe characters, so they go into the path as they are.
  return `${baseUrl.replace(/\/+$/, '')}/artifacts/${key}?expires=${expires}&sig=${sig}`;
}

/**
 * Checks the `expires` and `sig` query parameters of a signed URL for `key`. A signature that does
 * not match (including a tampered `expires`) is reported before expiry.
 */
export function verifySignedUrl(
  key: string,
  expires: string | number,
  sig: string,
  options: VerifySignedUrlOptions,
): SignedUrlVerdict {
  const expiresText = String(expires);
  if (!/^\d{1,15}$/.test(expiresText) || !/^[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'bad-signature' };
  const given = Buffer.from(sig, 'hex');
  const signedByOne = [options.secret, ...(options.previousSecrets ?? [])]
    .some((secret) => timingSafeEqual(Buffer.from(signature(key, expiresText, secret), 'hex'), given));
  if (!signedByOne) return { ok: false, reason: 'bad-signature' };
  if (options.now.getTime() >= Number(expiresText) * 1000) return { ok: false, reason: 'expired' };
  return { ok: true };
}

function signature(key: string, expires: string, secret: string | Uint8Array): string {
  if (secret.length === 0) throw new TypeError('the signing secret must not be empty');
  // The newline cannot occur in a key or in digits, so (key, expires) pairs cannot collide.
  return createHmac('sha256', secret).update(`${key}\n${expires}`).digest('hex');
}

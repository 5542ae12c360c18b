/**
 * Ed25519 signatures over rollback instructions, with the same key pair as release manifests: the
 * control plane signs, devices verify with the pinned public key before they accept a manifest
 * older than the one they run.
 */
import { sign } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { canonicalRollback, SignedRollback, type RollbackInstruction } from '@hotswap/contracts';
import { formatValidationErrors } from '../messaging/class-validator.js';
import { ed25519Key, pinnedKeysPhrase, pinnedPublicKeys, verifiesUnderPinnedKey, type ManifestVerdict, type VerifyManifestOptions } from './manifest-signing.js';

/** @throws InvalidSigningKeyError when `privateKeyPem` is not an Ed25519 private key. */
export function signRollback(instruction: RollbackInstruction, privateKeyPem: string): SignedRollback {
  const key = ed25519Key(privateKeyPem, 'private');
  const signature = sign(null, Buffer.from(canonicalRollback(instruction)), key).toString('base64');
  return { instruction: { ...instruction }, signature };
}

/**
 * Checks shape, then signature, then expiry, like `verifyManifest`. Never throws for a bad
 * instruction; throws InvalidSigningKeyError for a bad key.
 */
export function verifyRollback(signed: unknown, publicKeyPem: string, options: VerifyManifestOptions): ManifestVerdict {
  const keys = pinnedPublicKeys(publicKeyPem);
  if (typeof signed !== 'object' || signed === null) {
    return { ok: false, reason: 'malformed', message: 'malformed rollback instruction: expected an object { instruction, signature }' };
  }
  const errors = validateSync(plainToInstance(SignedRollback, signed), { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) return { ok: false, reason: 'malformed', message: `malformed rollback instruction: ${formatValidationErrors(errors)}` };
  const { instruction, signature } = signed as SignedRollback;
  if (!verifiesUnderPinnedKey(Buffer.from(canonicalRollback(instruction)), signature, keys)) {
    return { ok: false, reason: 'bad-signature', message: `rollback instruction signature does not verify against ${pinnedKeysPhrase(keys)}` };
  }
  if (options.now.getTime() >= Date.parse(instruction.expiresAt)) {
    return { ok: false, reason: 'expired', message: `rollback instruction expired at ${instruction.expiresAt}` };
  }
  return { ok: true };
}

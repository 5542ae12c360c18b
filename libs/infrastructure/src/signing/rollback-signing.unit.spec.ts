import { describe, it, expect } from '@jest/globals';
import type { RollbackInstruction } from '@hotswap/contracts';
import { generateSigningKeyPair, InvalidSigningKeyError, signManifest } from './manifest-signing.js';
import { signRollback, verifyRollback } from './rollback-signing.js';

const keys = generateSigningKeyPair();
const now = new Date('2030-01-01T12:00:00.000Z');
const instruction: RollbackInstruction = {
  modelId: 'object-detection-1.1.0',
  sha256: 'a'.repeat(64),
  issuedAt: '2030-01-01T11:00:00.000Z',
  expiresAt: '2030-01-01T13:00:00.000Z',
  reason: 'error rate above threshold',
};

describe('rollback instruction signing', () => {
  it('a signed instruction verifies with the matching public key, also after a JSON round trip', () => {
    const signed = signRollback(instruction, keys.privateKeyPem);
    expect(signed.instruction).toEqual(instruction);
    expect(verifyRollback(signed, keys.publicKeyPem, { now })).toEqual({ ok: true });
    expect(verifyRollback(JSON.parse(JSON.stringify(signed)), keys.publicKeyPem, { now })).toEqual({ ok: true });
    const { reason: _reason, ...withoutReason } = instruction;
    expect(verifyRollback(signRollback(withoutReason, keys.privateKeyPem), keys.publicKeyPem, { now })).toEqual({ ok: true });
  });

  it.each([
    ['modelId', 'object-detection-0.0.1'],
    ['sha256', 'b'.repeat(64)],
    ['expiresAt', '2031-01-01T00:00:00.000Z'],
    ['reason', 'other'],
  ])('a changed %s breaks the signature', (field, value) => {
    const signed = signRollback(instruction, keys.privateKeyPem);
    const tampered = { ...signed, instruction: { ...signed.instruction, [field]: value } };
    expect(verifyRollback(tampered, keys.publicKeyPem, { now })).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('accepts an instruction signed with any key of a pinned bundle, and no other', () => {
    const next = generateSigningKeyPair();
    const bundle = `${keys.publicKeyPem}${next.publicKeyPem}`;
    expect(verifyRollback(signRollback(instruction, next.privateKeyPem), bundle, { now })).toEqual({ ok: true });
    expect(verifyRollback(signRollback(instruction, generateSigningKeyPair().privateKeyPem), bundle, { now })).toEqual({
      ok: false, reason: 'bad-signature', message: 'rollback instruction signature does not verify against any of the 2 pinned public keys',
    });
  });

  it('refuses an instruction signed with another key, an expired one, and malformed ones', () => {
    const other = signRollback(instruction, generateSigningKeyPair().privateKeyPem);
    expect(verifyRollback(other, keys.publicKeyPem, { now })).toEqual({
      ok: false,
      reason: 'bad-signature',
      message: 'rollback instruction signature does not verify against the pinned public key',
    });
    const signed = signRollback(instruction, keys.privateKeyPem);
    expect(verifyRollback(signed, keys.publicKeyPem, { now: new Date('2030-01-01T13:00:00.000Z') })).toEqual({
      ok: false,
      reason: 'expired',
      message: 'rollback instruction expired at 2030-01-01T13:00:00.000Z',
    });
    expect(verifyRollback(null, keys.publicKeyPem, { now })).toMatchObject({ ok: false, reason: 'malformed' });
    expect(verifyRollback({ instruction: { modelId: 'x' }, signature: 'AA==' }, keys.publicKeyPem, { now })).toMatchObject({
      ok: false,
      reason: 'malformed',
      message: expect.stringMatching(/^malformed rollback instruction: .*sha256/),
    });
    expect(verifyRollback({ ...signed, signature: 'AAAA' }, keys.publicKeyPem, { now })).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('a manifest signature is not a rollback signature', () => {
    const manifest = signManifest(
      { modelId: instruction.modelId, name: 'object-detection', version: '1.1.0', sha256: instruction.sha256, sizeBytes: 1, createdAt: instruction.issuedAt, expiresAt: instruction.expiresAt },
      keys.privateKeyPem,
    );
    expect(verifyRollback({ instruction, signature: manifest.signature }, keys.publicKeyPem, { now })).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('throws InvalidSigningKeyError for a key that is not Ed25519', () => {
    expect(() => signRollback(instruction, 'nope')).toThrow(InvalidSigningKeyError);
    expect(() => verifyRollback({}, 'nope', { now })).toThrow(InvalidSigningKeyError);
  });
});

import { describe, it, expect } from '@jest/globals';
import type { ReleaseManifest, SwapCommand } from '@hotswap/contracts';
import { generateSigningKeyPair, signManifest, signRollback } from '@hotswap/infrastructure';
import { compareSemver, olderReason, rollbackRefusal } from './rollback-protection.js';

const keys = generateSigningKeyPair();
const now = new Date('2030-01-01T12:00:00.000Z');
const manifest = (version: string, createdAt: string, name = 'adder'): ReleaseManifest => ({
  modelId: `${name}-${version}`,
  name,
  version,
  sha256: 'a'.repeat(64),
  sizeBytes: 10,
  createdAt,
  expiresAt: '2031-01-01T00:00:00.000Z',
});
const V2 = manifest('2.0.0', '2030-01-01T10:00:00.000Z');
const command = (m: ReleaseManifest, rollback?: SwapCommand['rollback']): SwapCommand => ({
  type: 'swap',
  commandId: 'c-1',
  modelId: m.modelId,
  artifactUrl: 'http://h/a',
  release: signManifest(m, keys.privateKeyPem),
  issuedAt: now.toISOString(),
  ...(rollback ? { rollback } : {}),
});
const instruction = (m: ReleaseManifest, extra: object = {}) => ({ modelId: m.modelId, sha256: m.sha256, issuedAt: now.toISOString(), expiresAt: '2030-01-01T13:00:00.000Z', ...extra });

describe('rollback protection', () => {
  it.each([
    ['1.0.0', '2.0.0', -1],
    ['2.0.0', '1.9.9', 1],
    ['1.10.0', '1.9.0', 1],
    ['1.0.0', '1.0.0+build.5', 0],
    ['1.0.0-alpha', '1.0.0', -1],
    ['1.0.0-alpha.2', '1.0.0-alpha.10', -1],
    ['1.0.0-alpha.beta', '1.0.0-alpha.1', 1],
    ['1.0.0-alpha', '1.0.0-alpha.1', -1],
    ['v2.0.0', '1.0.0', 1],
  ])('orders semantic versions: %s vs %s → %d', (a, b, expected) => {
    expect(compareSemver(a, b)).toBe(expected);
  });

  it('does not order versions that are not semver', () => {
    expect(compareSemver('latest', '1.0.0')).toBeUndefined();
  });

  it('a release created earlier, or a lower version of the same model, is older', () => {
    expect(olderReason(manifest('3.0.0', '2030-01-01T09:00:00.000Z'), V2)).toBe(
      'adder-3.0.0 was created at 2030-01-01T09:00:00.000Z, before the active adder-2.0.0 (2030-01-01T10:00:00.000Z)',
    );
    expect(olderReason(manifest('1.0.0', '2030-01-01T11:00:00.000Z'), V2)).toBe('adder 1.0.0 is a lower version than the active 2.0.0');
    expect(olderReason(manifest('1.0.0', '2030-01-01T11:00:00.000Z', 'other'), V2)).toBeUndefined();
    expect(olderReason(manifest('2.1.0', '2030-01-01T11:00:00.000Z'), V2)).toBeUndefined();
    expect(olderReason(V2, V2)).toBeUndefined();
  });

  it('refuses an older release without a rollback instruction, and allows it with a valid one', () => {
    const v1 = manifest('1.0.0', '2030-01-01T09:00:00.000Z');
    expect(rollbackRefusal(command(v1), V2, keys.publicKeyPem, now)).toMatch(/^manifest rejected \(rollback\): adder-1\.0\.0 was created at .*; going back needs a signed rollback instruction$/);
    expect(rollbackRefusal(command(v1, signRollback(instruction(v1), keys.privateKeyPem)), V2, keys.publicKeyPem, now)).toBeUndefined();
    expect(rollbackRefusal(command(v1), undefined, keys.publicKeyPem, now)).toBeUndefined();
  });

  it('refuses a rollback instruction that is forged, expired, or for another artifact', () => {
    const v1 = manifest('1.0.0', '2030-01-01T09:00:00.000Z');
    const forged = signRollback(instruction(v1), generateSigningKeyPair().privateKeyPem);
    expect(rollbackRefusal(command(v1, forged), V2, keys.publicKeyPem, now)).toBe(
      'rollback instruction rejected (bad-signature): rollback instruction signature does not verify against the pinned public key',
    );
    const expired = signRollback(instruction(v1, { expiresAt: '2030-01-01T11:00:00.000Z' }), keys.privateKeyPem);
    expect(rollbackRefusal(command(v1, expired), V2, keys.publicKeyPem, now)).toBe('rollback instruction rejected (expired): rollback instruction expired at 2030-01-01T11:00:00.000Z');
    const otherBytes = signRollback(instruction(v1, { sha256: 'b'.repeat(64) }), keys.privateKeyPem);
    expect(rollbackRefusal(command(v1, otherBytes), V2, keys.publicKeyPem, now)).toBe(
      `rollback instruction is for adder-1.0.0 (sha256 ${'b'.repeat(64)}), not adder-1.0.0 (sha256 ${'a'.repeat(64)})`,
    );
  });
});

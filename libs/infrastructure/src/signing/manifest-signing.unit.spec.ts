import { describe, it, expect } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import type { ReleaseManifest } from '@hotswap/contracts';
import { assertManifestPublicKey, ed25519Key, generateSigningKeyPair, InvalidSigningKeyError, signManifest, verifyManifest } from './manifest-signing.js';

const keys = generateSigningKeyPair();
const now = new Date('2030-01-01T12:00:00.000Z');
const manifest: ReleaseManifest = {
  modelId: 'object-detection-1.2.0',
  name: 'object-detection',
  version: '1.2.0',
  sha256: 'a'.repeat(64),
  sizeBytes: 1234,
  createdAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2030-01-02T00:00:00.000Z',
};

describe('manifest signing', () => {
  it('generates an Ed25519 key pair in PEM form', () => {
    expect(keys.privateKeyPem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(keys.publicKeyPem).toContain('-----BEGIN PUBLIC KEY-----');
    expect(generateSigningKeyPair().publicKeyPem).not.toBe(keys.publicKeyPem);
  });

  it('a signed manifest verifies with the matching public key', () => {
    const signed = signManifest(manifest, keys.privateKeyPem);
    expect(Buffer.from(signed.signature, 'base64')).toHaveLength(64);
    expect(signed.manifest).toEqual(manifest);
    expect(verifyManifest(signed, keys.publicKeyPem, { now })).toEqual({ ok: true });
  });

  it('the signature survives a JSON round trip with reordered keys', () => {
    const signed = signManifest(manifest, keys.privateKeyPem);
    const reordered = { signature: signed.signature, manifest: Object.fromEntries(Object.entries(manifest).reverse()) };
    expect(verifyManifest(JSON.parse(JSON.stringify(reordered)), keys.publicKeyPem, { now })).toEqual({ ok: true });
  });

  it.each([
    ['modelId', 'object-detection-6.6.6'],
    ['sha256', 'b'.repeat(64)],
    ['sizeBytes', 1235],
    ['expiresAt', '2099-01-01T00:00:00.000Z'],
    ['version', '1.2.1'],
  ])('a manifest whose %s was tampered with is rejected as bad-signature', (field, value) => {
    const signed = signManifest(manifest, keys.privateKeyPem);
    const tampered = { ...signed, manifest: { ...signed.manifest, [field]: value } };
    expect(verifyManifest(tampered, keys.publicKeyPem, { now })).toEqual({
      ok: false,
      reason: 'bad-signature',
      message: 'manifest signature does not verify against the pinned public key',
    });
  });

  it('a manifest signed with another key is rejected as bad-signature', () => {
    const other = generateSigningKeyPair();
    const verdict = verifyManifest(signManifest(manifest, other.privateKeyPem), keys.publicKeyPem, { now });
    expect(verdict).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('a signature of the wrong length is rejected as bad-signature', () => {
    const verdict = verifyManifest({ manifest, signature: Buffer.alloc(10).toString('base64') }, keys.publicKeyPem, { now });
    expect(verdict).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('an expired manifest is rejected with its expiry', () => {
    const signed = signManifest(manifest, keys.privateKeyPem);
    expect(verifyManifest(signed, keys.publicKeyPem, { now: new Date(manifest.expiresAt) })).toEqual({
      ok: false,
      reason: 'expired',
      message: 'manifest expired at 2030-01-02T00:00:00.000Z',
    });
  });

  it('a forged manifest is reported as forged even when it has also expired', () => {
    const forged = { ...signManifest(manifest, generateSigningKeyPair().privateKeyPem) };
    const verdict = verifyManifest(forged, keys.publicKeyPem, { now: new Date('2031-01-01T00:00:00Z') });
    expect(verdict).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it.each([
    ['null', null, 'malformed manifest: expected an object { manifest, signature }'],
    ['a string', 'text', 'malformed manifest: expected an object { manifest, signature }'],
    ['no manifest', { signature: 'AAAA' }, 'malformed manifest: manifest: manifest should not be null or undefined [isDefined]'],
    ['a non-base64 signature', { manifest, signature: 'not base64!' }, 'malformed manifest: signature: signature must be base64 encoded [isBase64]'],
    ['a bad sha256', { manifest: { ...manifest, sha256: 'XYZ' }, signature: 'AAAA' }, 'malformed manifest: manifest.sha256: sha256 must be 64 lowercase hex characters [matches]'],
    ['an unknown field', { manifest, signature: 'AAAA', extra: 1 }, 'malformed manifest: extra: property extra should not exist [whitelistValidation]'],
  ])('a manifest with %s is rejected as malformed with what is wrong', (_label, input, message) => {
    expect(verifyManifest(input, keys.publicKeyPem, { now })).toEqual({ ok: false, reason: 'malformed', message });
  });

  it('refuses a key that is not PEM, or not Ed25519, with InvalidSigningKeyError', () => {
    const signed = signManifest(manifest, keys.privateKeyPem);
    expect(() => verifyManifest(signed, 'not a key', { now })).toThrow(InvalidSigningKeyError);
    expect(() => signManifest(manifest, 'not a key')).toThrow('the private key is not a valid PEM key');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => verifyManifest(signed, rsa, { now })).toThrow('the public key is rsa, expected ed25519');
    expect(() => assertManifestPublicKey(rsa)).toThrow(InvalidSigningKeyError);
    expect(() => assertManifestPublicKey(keys.publicKeyPem)).not.toThrow();
  });

  it('parses a pinned public key once, however many manifests it verifies, and still refuses a bad key every time', () => {
    const first = ed25519Key(keys.publicKeyPem, 'public');
    expect(ed25519Key(keys.publicKeyPem, 'public')).toBe(first);
    expect(verifyManifest(signManifest(manifest, keys.privateKeyPem), keys.publicKeyPem, { now })).toEqual({ ok: true });
    const other = generateSigningKeyPair();
    expect(ed25519Key(other.publicKeyPem, 'public')).not.toBe(first);
    for (let i = 0; i < 2; i++) expect(() => ed25519Key('not a key', 'public')).toThrow(InvalidSigningKeyError);
  });

  it('parses a signing key once, however many manifests it signs, and still refuses a bad one every time', () => {
    const first = ed25519Key(keys.privateKeyPem, 'private');
    expect(ed25519Key(keys.privateKeyPem, 'private')).toBe(first);
    expect(ed25519Key(generateSigningKeyPair().privateKeyPem, 'private')).not.toBe(first);
    for (let i = 0; i < 2; i++) expect(() => ed25519Key('not a key', 'private')).toThrow(InvalidSigningKeyError);
    expect(() => ed25519Key(keys.publicKeyPem, 'private')).toThrow(InvalidSigningKeyError);
  });

  it('accepts a manifest signed with any key of a pinned bundle (old and new while the signing key rotates), and no other', () => {
    const next = generateSigningKeyPair();
    const bundle = `${keys.publicKeyPem}\n${next.publicKeyPem}`;
    expect(verifyManifest(signManifest(manifest, keys.privateKeyPem), bundle, { now })).toEqual({ ok: true });
    expect(verifyManifest(signManifest(manifest, next.privateKeyPem), bundle, { now })).toEqual({ ok: true });
    expect(verifyManifest(signManifest(manifest, generateSigningKeyPair().privateKeyPem), bundle, { now })).toEqual({
      ok: false, reason: 'bad-signature', message: 'manifest signature does not verify against any of the 2 pinned public keys',
    });
    // The old key dropped from the bundle: what it signs is refused from then on.
    expect(verifyManifest(signManifest(manifest, keys.privateKeyPem), next.publicKeyPem, { now })).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a bundle with a key that is not Ed25519, naming which one', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => assertManifestPublicKey(`${keys.publicKeyPem}${rsa}`)).toThrow('pinned key 2 of 2: the public key is rsa, expected ed25519');
    expect(() => assertManifestPublicKey(`${keys.publicKeyPem}-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n`))
      .toThrow('pinned key 2 of 2: the public key is not a valid PEM key');
  });

  it('keeps the cause of an unreadable key', () => {
    try {
      verifyManifest({}, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', { now });
      throw new Error('expected a throw');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidSigningKeyError);
      // node:crypto errors come from the host realm, so check the shape rather than instanceof.
      expect((err as Error & { cause?: { message?: string } }).cause?.message).toEqual(expect.any(String));
    }
  });
});

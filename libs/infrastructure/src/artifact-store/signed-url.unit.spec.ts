import { describe, expect, it } from '@jest/globals';
import { InvalidArtifactKeyError, signUrl, verifySignedUrl } from './index.js';

const secret = 'a-test-secret-of-at-least-32-bytes!!';
const expiresAt = new Date('2030-01-01T00:10:00.900Z');
const expiresUnix = Math.floor(expiresAt.getTime() / 1000);

function query(url: string) {
  const { pathname, searchParams } = new URL(url);
  return { pathname, expires: searchParams.get('expires') ?? '', sig: searchParams.get('sig') ?? '' };
}

describe('signed artifact URLs', () => {
  const url = signUrl('http://127.0.0.1:8080/', 'models/m-1.0.0/model.onnx', { expiresAt, secret });

  it('produces <baseUrl>/artifacts/<key>?expires=<unix>&sig=<hex>', () => {
    expect(url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:8080/artifacts/models/m-1\\.0\\.0/model\\.onnx\\?expires=${expiresUnix}&sig=[0-9a-f]{64}$`),
    );
  });

  it('verifies before the expiry', () => {
    const { expires, sig } = query(url);
    expect(verifySignedUrl('models/m-1.0.0/model.onnx', expires, sig, { now: new Date(expiresUnix * 1000 - 1), secret })).toEqual({
      ok: true,
    });
  });

  it('accepts a URL signed with a key being rotated out while that key is listed', () => {
    const { expires, sig } = query(url);
    const at = new Date(expiresUnix * 1000 - 1);
    const key = 'models/m-1.0.0/model.onnx';
    expect(verifySignedUrl(key, expires, sig, { now: at, secret: 'the-new-secret-of-at-least-32-bytes', previousSecrets: [secret] })).toEqual({ ok: true });
    expect(verifySignedUrl(key, expires, sig, { now: at, secret: 'the-new-secret-of-at-least-32-bytes' })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifySignedUrl(key, expires, sig, { now: new Date(expiresUnix * 1000), secret: 'the-new-secret-of-at-least-32-bytes', previousSecrets: [secret] }))
      .toEqual({ ok: false, reason: 'expired' });
  });

  it('accepts the expiry as a number', () => {
    const { sig } = query(url);
    expect(verifySignedUrl('models/m-1.0.0/model.onnx', expiresUnix, sig, { now: new Date(0), secret }).ok).toBe(true);
  });

  it('reports expired from the expiry second on', () => {
    const { expires, sig } = query(url);
    expect(verifySignedUrl('models/m-1.0.0/model.onnx', expires, sig, { now: new Date(expiresUnix * 1000), secret })).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it.each([
    ['another key', 'models/m-2.0.0/model.onnx', (e: string) => e, (s: string) => s, secret],
    ['a later expiry', 'models/m-1.0.0/model.onnx', (e: string) => String(Number(e) + 3600), (s: string) => s, secret],
    ['a flipped signature digit', 'models/m-1.0.0/model.onnx', (e: string) => e, (s: string) => (s[0] === 'a' ? 'b' : 'a') + s.slice(1), secret],
    ['a truncated signature', 'models/m-1.0.0/model.onnx', (e: string) => e, (s: string) => s.slice(2), secret],
    ['a non-numeric expiry', 'models/m-1.0.0/model.onnx', () => '1e99', (s: string) => s, secret],
    ['another secret', 'models/m-1.0.0/model.onnx', (e: string) => e, (s: string) => s, 'some-other-secret'],
  ])('reports bad-signature for %s', (_case, key, expiresOf, sigOf, verifySecret) => {
    const { expires, sig } = query(url);
    expect(verifySignedUrl(key, expiresOf(expires), sigOf(sig), { now: new Date(0), secret: verifySecret })).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('reports a tampered URL as bad-signature even when also expired', () => {
    const { expires } = query(url);
    expect(verifySignedUrl('models/m-1.0.0/model.onnx', expires, '0'.repeat(64), { now: new Date(expiresUnix * 2000), secret })).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('refuses to sign an invalid key, an invalid date or with an empty secret', () => {
    expect(() => signUrl('http://h', '../x', { expiresAt, secret })).toThrow(InvalidArtifactKeyError);
    expect(() => signUrl('http://h', 'x', { expiresAt: new Date(Number.NaN), secret })).toThrow('expiresAt is not a valid date');
    expect(() => signUrl('http://h', 'x', { expiresAt, secret: '' })).toThrow('the signing secret must not be empty');
  });

  it('signs with a binary secret', () => {
    const binary = new Uint8Array(32).fill(7);
    const { expires, sig } = query(signUrl('http://h', 'x', { expiresAt, secret: binary }));
    expect(verifySignedUrl('x', expires, sig, { now: new Date(0), secret: binary }).ok).toBe(true);
  });
});

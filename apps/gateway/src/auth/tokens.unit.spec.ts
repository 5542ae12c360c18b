import { describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { authenticate, createTokenVerifier, InvalidTokenError, issueDevToken, TOKEN_ISSUER } from './tokens.js';

const secret = 'unit-test-secret';
const now = new Date('2030-01-01T00:00:00.000Z');
const key = new TextEncoder().encode(secret);
const bearer = (token: string) => `Bearer ${token}`;
const invalid = (message: string) => ({ name: InvalidTokenError.name, message });

describe('issueDevToken and authenticate', () => {
  it('round-trips the subject and roles', async () => {
    const token = await issueDevToken({ secret, subject: 'alice', roles: ['Operator', 'Viewer'], ttlSeconds: 60, now });
    expect(await authenticate(bearer(token), secret, now)).toEqual({ subject: 'alice', roles: ['Operator', 'Viewer'] });
  });

  it('accepts tokens of a key being rotated out while it is listed, and refuses them once it is dropped', async () => {
    const old = await issueDevToken({ secret: 'the-old-secret', subject: 'carol', roles: ['Viewer'], ttlSeconds: 60, now });
    const during = createTokenVerifier({ secret, previousSecrets: ['the-old-secret'] });
    expect(await during(bearer(old), now)).toEqual({ subject: 'carol', roles: ['Viewer'] });
    const fresh = await issueDevToken({ secret, subject: 'carol', roles: ['Viewer'], ttlSeconds: 60, now });
    expect(await during(bearer(fresh), now)).toEqual({ subject: 'carol', roles: ['Viewer'] });
    await expect(createTokenVerifier({ secret })(bearer(old), now)).rejects.toMatchObject(invalid('the token signature is invalid'));
    await expect(during(bearer(await issueDevToken({ secret: 'a-stranger', subject: 'eve', roles: ['Admin'], ttlSeconds: 60, now })), now))
      .rejects.toMatchObject(invalid('the token signature is invalid'));
  });

  it('refuses an expired token of a key being rotated out as expired', async () => {
    const old = await issueDevToken({ secret: 'the-old-secret', subject: 'carol', roles: ['Viewer'], ttlSeconds: 60, now });
    await expect(createTokenVerifier({ secret, previousSecrets: ['the-old-secret'] })(bearer(old), new Date(now.getTime() + 60_000)))
      .rejects.toMatchObject(invalid('the token expired at 2030-01-01T00:01:00.000Z'));
  });

  it('accepts the token until its expiry and refuses it from then on', async () => {
    const token = await issueDevToken({ secret, subject: 'alice', roles: ['Admin'], ttlSeconds: 60, now });
    await expect(authenticate(bearer(token), secret, new Date(now.getTime() + 59_000))).resolves.toBeDefined();
    await expect(authenticate(bearer(token), secret, new Date(now.getTime() + 60_000))).rejects.toMatchObject(invalid('the token expired at 2030-01-01T00:01:00.000Z'));
  });

  it.each([
    [{ ttlSeconds: 0 }, 'ttlSeconds must be a positive integer, got 0'],
    [{ ttlSeconds: 1.5 }, 'ttlSeconds must be a positive integer, got 1.5'],
    [{ secret: '' }, 'the JWT secret must not be empty'],
    [{ subject: '' }, 'the token subject must not be empty'],
  ])('refuses to issue with %j', async (override, message) => {
    await expect(
      issueDevToken({ secret, subject: 'alice', roles: ['Admin'], ttlSeconds: 60, now, ...override }),
    ).rejects.toThrow(message);
  });

  it('ignores roles it does not know but keeps the known ones', async () => {
    const token = await new SignJWT({ roles: ['Admin', 'Janitor'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(TOKEN_ISSUER)
      .setSubject('bob')
      .setExpirationTime(Math.floor(now.getTime() / 1000) + 60)
      .sign(key);
    expect(await authenticate(bearer(token), secret, now)).toEqual({ subject: 'bob', roles: ['Admin'] });
  });

  const signed = (claims: Record<string, unknown>, build: (jwt: SignJWT) => SignJWT = (jwt) => jwt) =>
    build(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' })).sign(key);
  const exp = Math.floor(now.getTime() / 1000) + 60;

  it.each([
    ['no roles claim', () => signed({ iss: TOKEN_ISSUER, sub: 'bob', exp }), 'the token\'s "roles" claim must be an array of role names'],
    ['roles as a string', () => signed({ iss: TOKEN_ISSUER, sub: 'bob', exp, roles: 'Admin' }), 'the token\'s "roles" claim must be an array of role names'],
    ['no subject', () => signed({ iss: TOKEN_ISSUER, exp, roles: ['Admin'] }), 'the token is not acceptable: missing required "sub" claim'],
    ['no expiry', () => signed({ iss: TOKEN_ISSUER, sub: 'bob', roles: ['Admin'] }), 'the token is not acceptable: missing required "exp" claim'],
    ['another issuer', () => signed({ iss: 'elsewhere', sub: 'bob', exp, roles: ['Admin'] }), 'the token is not acceptable: unexpected "iss" claim value'],
  ])('refuses a token with %s', async (_case, make, message) => {
    await expect(authenticate(bearer(await make()), secret, now)).rejects.toMatchObject(invalid(message));
  });

  it('refuses a token signed with another algorithm', async () => {
    const token = await new SignJWT({ roles: ['Admin'] })
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuer(TOKEN_ISSUER)
      .setSubject('bob')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret.repeat(4)));
    await expect(authenticate(bearer(token), secret, now)).rejects.toThrow('the token must be signed with HS256');
  });

  it.each([
    [undefined, 'missing Authorization header: send "Authorization: Bearer <token>"'],
    ['  ', 'missing Authorization header: send "Authorization: Bearer <token>"'],
    ['Bearer', 'the Authorization header must be "Bearer <token>"'],
    ['Token abc', 'the Authorization header must be "Bearer <token>"'],
  ])('refuses the Authorization header %j', async (header, message) => {
    await expect(authenticate(header, secret, now)).rejects.toMatchObject(invalid(message));
  });
});

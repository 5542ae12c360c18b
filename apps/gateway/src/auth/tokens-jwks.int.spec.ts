import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import { LocalFileArtifactStore, MessageBus } from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { createGatewayApp } from '../index.js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createTokenVerifier, InvalidTokenError, issueDevToken, JwksUnavailableError, type TokenVerifier } from './tokens.js';

/** RS256/ES256 tokens of an OIDC provider, verified through its JWKS served by a local HTTP server. */

const ISSUER = 'https://idp.test';
const AUDIENCE = 'hotswap-api';
const secret = 'jwks-test-hs256-secret';
const now = new Date();
const exp = Math.floor(now.getTime() / 1000) + 300;

interface SigningKey { readonly kid: string; readonly alg: 'RS256' | 'ES256'; readonly privateKey: CryptoKey; readonly jwk: JWK }

async function signingKey(kid: string, alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

let rsa: SigningKey;
let ec: SigningKey;
let server: Server;
let jwksUrl: string;
let jwksRequests = 0;
let verify: TokenVerifier;

function sign(key: SigningKey, claims: Record<string, unknown> = {}, kid = key.kid): Promise<string> {
  return new SignJWT({ roles: ['Operator'], ...claims })
    .setProtectedHeader({ alg: key.alg, kid })
    .setIssuer(typeof claims['iss'] === 'string' ? claims['iss'] : ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('oidc|carol')
    .setExpirationTime(exp)
    .sign(key.privateKey);
}

const bearer = (token: string) => `Bearer ${token}`;

beforeAll(async () => {
  rsa = await signingKey('rsa-1', 'RS256');
  ec = await signingKey('ec-1', 'ES256');
  server = createServer((request, response) => {
    jwksRequests += 1;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys: [rsa.jwk, ec.jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  verify = createTokenVerifier({ secret, jwks: { url: jwksUrl, issuer: ISSUER, audience: AUDIENCE } });
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

describe('tokens verified through a JWKS URL', () => {
  it.each(['RS256', 'ES256'])('accepts a %s token signed by a key of the JWKS', async (alg) => {
    const token = await sign(alg === 'RS256' ? rsa : ec);
    expect(await verify(bearer(token), now)).toEqual({ subject: 'oidc|carol', roles: ['Operator'] });
  });

  it('fetches the key set once and reuses it', async () => {
    const before = jwksRequests;
    await verify(bearer(await sign(rsa)), now);
    await verify(bearer(await sign(ec)), now);
    expect(jwksRequests - before).toBe(0);
  });

  it('still accepts the HS256 tokens HotSwap issues', async () => {
    const token = await issueDevToken({ secret, subject: 'alice', roles: ['Admin'], ttlSeconds: 60, now });
    expect(await verify(bearer(token), now)).toEqual({ subject: 'alice', roles: ['Admin'] });
  });

  it('refuses a token signed by a key that is not in the JWKS', async () => {
    const stranger = await signingKey('stranger', 'RS256');
    await expect(verify(bearer(await sign(stranger)), now)).rejects.toMatchObject({
      name: InvalidTokenError.name, message: 'the token was signed by a key that is not in the JWKS',
    });
  });

  it('refuses a token signed by another key under a known key id', async () => {
    const impostor = await signingKey('rsa-1', 'RS256');
    await expect(verify(bearer(await sign(impostor)), now)).rejects.toMatchObject({
      name: InvalidTokenError.name, message: 'the token signature is invalid',
    });
  });

  it('refuses a token of another issuer', async () => {
    await expect(verify(bearer(await sign(rsa, { iss: 'https://evil.test' })), now)).rejects.toMatchObject({
      name: InvalidTokenError.name, message: 'the token is not acceptable: unexpected "iss" claim value',
    });
  });

  it('refuses a token for another audience', async () => {
    const token = await new SignJWT({ roles: ['Admin'] })
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid })
      .setIssuer(ISSUER).setAudience('someone-else').setSubject('x').setExpirationTime(exp)
      .sign(rsa.privateKey);
    await expect(verify(bearer(token), now)).rejects.toMatchObject({
      name: InvalidTokenError.name, message: 'the token is not acceptable: unexpected "aud" claim value',
    });
  });

  it('refuses an asymmetric token when no JWKS is configured', async () => {
    const hs256Only = createTokenVerifier({ secret });
    await expect(hs256Only(bearer(await sign(rsa)), now)).rejects.toThrow('the token must be signed with HS256');
  });

  it('refuses a token whose header is not JSON', async () => {
    await expect(verify('Bearer not.a.token', now)).rejects.toMatchObject({
      name: InvalidTokenError.name, message: 'the token is malformed: Invalid Token or Protected Header formatting',
    });
  });

  it('reports an unreachable JWKS as unavailable, not as a bad token', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/jwks.json`;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = createTokenVerifier({ secret, jwks: { url } });
    await expect(unreachable(bearer(await sign(rsa)), now)).rejects.toBeInstanceOf(JwksUnavailableError);
  });

  it('reports a JWKS URL answering an error status as unavailable', async () => {
    const failing = createServer((_request, response) => { response.statusCode = 500; response.end(); });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/jwks.json`;
      await expect(createTokenVerifier({ secret, jwks: { url } })(bearer(await sign(rsa)), now)).rejects.toBeInstanceOf(JwksUnavailableError);
    } finally {
      await new Promise((resolve) => failing.close(resolve));
    }
  });
});

describe('the gateway with a JWKS', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let dir: string;
  let app: INestApplication;
  let baseUrl: string;
  const quiet = { warn: () => undefined, error: () => undefined };
  const get = (token: string) => fetch(`${baseUrl}/api/v1/models`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: false });
    nc = await connect({ servers: nats.url });
    dir = await mkdtemp(join(tmpdir(), 'gw-jwks-'));
    app = await createGatewayApp({
      bus: new MessageBus(nc, { logger: quiet }), artifacts: new LocalFileArtifactStore({ rootDir: dir }),
      jwtSecret: secret, urlSigningSecret: 'u', maxUploadBytes: 1024, clock: () => now, requestTimeoutMs: 200,
      jwks: { url: jwksUrl, issuer: ISSUER, audience: AUDIENCE },
    }, { host: '127.0.0.1', port: 0, logger: false });
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await nc?.close();
    await nats?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('lets a token signed by a JWKS key through to the service (no service answers here: 503)', async () => {
    const response = await get(await sign(ec));
    expect(response.status).toBe(503);
  });

  it('answers 401 for a token signed by an unknown key', async () => {
    const response = await get(await sign(await signingKey('unknown', 'ES256')));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ message: 'the token was signed by a key that is not in the JWKS' });
  });

  it('answers 401 for a token of another issuer', async () => {
    const response = await get(await sign(rsa, { iss: 'https://evil.test' }));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ message: 'the token is not acceptable: unexpected "iss" claim value' });
  });
});

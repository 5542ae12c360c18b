import { ROLES, type Role } from '@hotswap/contracts';
import {
  createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload,
} from 'jose';

/** `iss` of every token HotSwap issues and accepts. */
export const TOKEN_ISSUER = 'hotswap';

export interface IssueDevTokenOptions {
  /** HS256 key; the gateway must be started with the same `jwtSecret`. */
  readonly secret: string;
  /** `sub`: who acts (recorded as the actor of commands). */
  readonly subject: string;
  readonly roles: readonly Role[];
  /** Lifetime in seconds. */
  readonly ttlSeconds: number;
  /** Issue time; now by default (tests pass a past instant to get an expired token). */
  readonly now?: Date;
}

/** A signed HS256 bearer token for `Authorization: Bearer <token>` (used by `hotswap token`). */
export async function issueDevToken(options: IssueDevTokenOptions): Promise<string> {
  const { secret, subject, roles, ttlSeconds } = options;
  if (secret.length === 0) throw new TypeError('the JWT secret must not be empty');
  if (subject.length === 0) throw new TypeError('the token subject must not be empty');
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
  const unknown = roles.filter((role) => !(ROLES as readonly string[]).includes(role));
  if (unknown.length > 0) throw new TypeError(`unknown role(s) ${unknown.join(', ')}; roles are ${ROLES.join(', ')}`);
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setSubject(subject)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .sign(keyOf(secret));
}

/** Who is calling, from a verified token. */
export interface Principal {
  readonly subject: string;
  /** The known roles of the `roles` claim. */
  readonly roles: readonly Role[];
}

/** The bearer token is missing, malformed, wrongly signed, expired or lacks a required claim (→ 401). */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

/** How bearer tokens are verified. */
export interface TokenKeys {
  /** HS256 key of the tokens HotSwap issues itself (`iss` = `hotswap`). */
  readonly secret: string;
  /**
   * Keys being rotated out: HS256 tokens they signed are still accepted, so a rotation does not log
   * everyone out at once. Tokens are only issued with `secret`.
   */
  readonly previousSecrets?: readonly string[];
  /**
   * An OIDC provider's JWKS: RS256/ES256 tokens are verified with its keys. The keys are fetched on
   * first use and again when a token names a key id the cached set lacks.
   */
  readonly jwks?: JwksOptions;
}

export interface JwksOptions {
  /** URL of the JSON Web Key Set, e.g. `https://idp.example.com/.well-known/jwks.json`. */
  readonly url: string;
  /** Required `iss` of the provider's tokens; any issuer when absent. */
  readonly issuer?: string;
  /** Required `aud` of the provider's tokens; any audience when absent. */
  readonly audience?: string;
}

/** Verifies `Authorization` headers with fixed keys; the JWKS is fetched once and cached by `jose`. */
export type TokenVerifier = (authorization: string | undefined, now: Date) => Promise<Principal>;

const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256'];

/** Builds the verifier of the gateway's tokens (one per app, so the JWKS cache is shared). */
export function createTokenVerifier(keys: TokenKeys): TokenVerifier {
  const remoteKeys = keys.jwks === undefined ? undefined : createRemoteJWKSet(new URL(keys.jwks.url));
  return async (authorization, now) => {
    const token = bearerOf(authorization);
    let alg: unknown;
    try {
      ({ alg } = decodeProtectedHeader(token));
    } catch (error) {
      // jose throws a bare TypeError for a header that is not base64url JSON.
      throw new InvalidTokenError(`the token is malformed: ${(error as Error).message}`, { cause: error });
    }
    let payload: JWTPayload;
    try {
      if (alg !== 'HS256' && remoteKeys !== undefined && keys.jwks !== undefined) {
        ({ payload } = await jwtVerify(token, remoteKeys, {
          algorithms: ASYMMETRIC_ALGORITHMS,
          currentDate: now,
          requiredClaims: ['sub', 'exp'],
          ...(keys.jwks.issuer === undefined ? {} : { issuer: keys.jwks.issuer }),
          ...(keys.jwks.audience === undefined ? {} : { audience: keys.jwks.audience }),
        }));
      } else {
        payload = await verifyHs256(token, [keys.secret, ...(keys.previousSecrets ?? [])], now);
      }
    } catch (error) {
      if (isJwksOutage(error)) throw new JwksUnavailableError(`the JWKS could not be fetched: ${(error as Error).message}`, { cause: error });
      throw new InvalidTokenError(reasonOf(error, remoteKeys !== undefined), { cause: error });
    }
    return principalOf(payload);
  };
}

/** Verifies with the current key, then with each key being rotated out; the current key's error is the one reported. */
async function verifyHs256(token: string, secrets: readonly string[], now: Date): Promise<JWTPayload> {
  let first: unknown;
  for (const secret of secrets) {
    try {
      return (await jwtVerify(token, keyOf(secret), { algorithms: ['HS256'], issuer: TOKEN_ISSUER, currentDate: now, requiredClaims: ['sub', 'exp'] })).payload;
    } catch (error) {
      first ??= error;
      // Only a signature mismatch can be another key's token; an expired or malformed one is final.
      if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) throw error;
    }
  }
  throw first;
}

/** The JWKS URL did not answer with a key set (→ 503: the token may well be valid). */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

/**
 * Reads the `Authorization` header and verifies its HS256 token at `now`.
 * @throws InvalidTokenError with a message saying precisely what is wrong
 */
export async function authenticate(authorization: string | undefined, secret: string, now: Date): Promise<Principal> {
  return createTokenVerifier({ secret })(authorization, now);
}

function bearerOf(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === '') {
    throw new InvalidTokenError('missing Authorization header: send "Authorization: Bearer <token>"');
  }
  const match = /^Bearer +([^\s]+)\s*$/i.exec(authorization);
  if (match === null) throw new InvalidTokenError('the Authorization header must be "Bearer <token>"');
  return match[1];
}

function principalOf(payload: JWTPayload): Principal {
  const roles = payload['roles'];
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
    throw new InvalidTokenError('the token\'s "roles" claim must be an array of role names');
  }
  return {
    subject: payload.sub as string,
    roles: roles.filter((role): role is Role => (ROLES as readonly string[]).includes(role)),
  };
}

function isJwksOutage(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return true;
  // jose reports a non-200 answer of the JWKS URL as a bare JOSEError.
  if (error instanceof joseErrors.JOSEError && error.constructor === joseErrors.JOSEError) return true;
  // A failed fetch (connection refused, bad status) is not a JOSE error.
  return !(error instanceof joseErrors.JOSEError) && !(error instanceof InvalidTokenError);
}

function reasonOf(error: unknown, jwks = false): string {
  if (error instanceof joseErrors.JWTExpired) {
    const exp = error.payload['exp'];
    return typeof exp === 'number' ? `the token expired at ${new Date(exp * 1000).toISOString()}` : 'the token has expired';
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    return jwks ? 'the token must be signed with HS256, RS256 or ES256' : 'the token must be signed with HS256';
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'the token was signed by a key that is not in the JWKS';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the token is not acceptable: ${error.message}`;
  if (error instanceof joseErrors.JOSEError) return `the token is malformed: ${error.message}`;
  return `the token could not be verified: ${(error as Error).message}`;
}

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

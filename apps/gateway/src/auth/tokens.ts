import { ROLES, type Role } from '@hotswap/contracts';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

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

/**
 * Reads the `Authorization` header and verifies its HS256 token at `now`.
 * @throws InvalidTokenError with a message saying precisely what is wrong
 */
export async function authenticate(authorization: string | undefined, secret: string, now: Date): Promise<Principal> {
  if (authorization === undefined || authorization.trim() === '') {
    throw new InvalidTokenError('missing Authorization header: send "Authorization: Bearer <token>"');
  }
  const match = /^Bearer +([^\s]+)\s*$/i.exec(authorization);
  if (match === null) throw new InvalidTokenError('the Authorization header must be "Bearer <token>"');
  let payload;
  try {
    ({ payload } = await jwtVerify(match[1], keyOf(secret), {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      currentDate: now,
      requiredClaims: ['sub', 'exp'],
    }));
  } catch (error) {
    throw new InvalidTokenError(reasonOf(error), { cause: error });
  }
  const roles = payload['roles'];
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
    throw new InvalidTokenError('the token\'s "roles" claim must be an array of role names');
  }
  return {
    subject: payload.sub as string,
    roles: roles.filter((role): role is Role => (ROLES as readonly string[]).includes(role)),
  };
}

function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) {
    const exp = error.payload['exp'];
    return typeof exp === 'number' ? `the token expired at ${new Date(exp * 1000).toISOString()}` : 'the token has expired';
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token must be signed with HS256';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the token is not acceptable: ${error.message}`;
  if (error instanceof joseErrors.JOSEError) return `the token is malformed: ${error.message}`;
  return `the token could not be verified: ${(error as Error).message}`;
}

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

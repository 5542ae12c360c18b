import {
  createParamDecorator, ForbiddenException, Inject, Injectable, ServiceUnavailableException, UnauthorizedException,
  type CanActivate, type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps.js';
import { AccessTokenInQuery, Public, Roles } from './roles.js';
import { TOKEN_VERIFIER } from './token-verifier.provider.js';
import { InvalidTokenError, JwksUnavailableError, type Principal, type TokenVerifier } from './tokens.js';

export type AuthenticatedRequest = IncomingMessage & { principal?: Principal };

/**
 * Global guard: every route needs a valid bearer token unless marked `@Public()`, and the token's
 * roles must include one of the route's `@Roles(...)`. 401 for a bad token, 403 for a missing role.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(TOKEN_VERIFIER) private readonly verify: TokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride(Public, targets) === true) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const authorization = request.headers.authorization
      ?? (this.reflector.getAllAndOverride(AccessTokenInQuery, targets) === true ? bearerFromQuery(request.url) : undefined);
    const principal = await verifyOrThrowHttp(this.verify, authorization, this.deps.clock());
    const allowed = this.reflector.getAllAndOverride(Roles, targets);
    if (allowed !== undefined && !principal.roles.some((role) => allowed.includes(role))) {
      const held = principal.roles.length === 0 ? 'no role' : `role(s) ${principal.roles.join(', ')}`;
      throw new ForbiddenException(`this operation needs one of the roles ${allowed.join(', ')}; the token has ${held}`);
    }
    request.principal = principal;
    return true;
  }
}

/** The verified caller of the current request (set by `AuthGuard`). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  // Only reachable on a @Public() route, which must not ask for the caller.
  if (principal === undefined) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});

/** `?access_token=<jwt>` of a request URL as an Authorization header value. */
function bearerFromQuery(url: string | undefined): string | undefined {
  const token = new URL(url ?? '/', 'http://gateway').searchParams.get('access_token');
  return token === null ? undefined : `Bearer ${token}`;
}

/** Verifies a bearer token, turning a bad token into 401 and an unreachable JWKS into 503. */
export async function verifyOrThrowHttp(verify: TokenVerifier, authorization: string | undefined, now: Date): Promise<Principal> {
  try {
    return await verify(authorization, now);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw new UnauthorizedException(error.message, { cause: error });
    if (error instanceof JwksUnavailableError) throw new ServiceUnavailableException(error.message, { cause: error });
    throw error;
  }
}

import {
  HttpException, HttpStatus, Inject, Injectable, ServiceUnavailableException, type CanActivate, type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps.js';
import { RATE_LIMIT_SUBJECTS, RateLimited, type RateLimitRule } from './rate-limit-rules.js';
import { RateLimitUnavailableError, type RateLimiter } from './rate-limiter.js';

/** Injection token of the app's `RateLimiter` (`null` when `GatewayDeps.rateLimits` is absent). */
export const RATE_LIMITER = Symbol('RateLimiter');

/**
 * Global guard after `AuthGuard`: counts the caller's request against the route's rule and answers
 * 429 with `Retry-After` (seconds) once the window's limit is reached. Public routes are not counted.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter | null,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.limiter === null) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = request.principal;
    if (principal === undefined) return true;
    const rule: RateLimitRule | undefined = this.reflector.get(RateLimited, context.getHandler())
      ?? (request.method === 'GET' ? 'monitor' : undefined);
    if (rule === undefined) return true;
    let decision;
    try {
      decision = await this.limiter.consume(rule, principal.subject, this.deps.clock());
    } catch (error) {
      if (error instanceof RateLimitUnavailableError) throw new ServiceUnavailableException(error.message, { cause: error });
      throw error;
    }
    if (decision.allowed) return true;
    const { limit, retryAfterSeconds } = decision;
    context.switchToHttp().getResponse<ServerResponse>().setHeader('Retry-After', String(retryAfterSeconds));
    throw new HttpException(
      `rate limit exceeded: at most ${limit.limit} ${RATE_LIMIT_SUBJECTS[rule]} per ${limit.windowMs / 1000} s per user; retry in ${retryAfterSeconds} s`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

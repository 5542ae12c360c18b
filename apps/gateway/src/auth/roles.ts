import { ROLES, type Role } from '@hotswap/contracts';
import { Reflector } from '@nestjs/core';

/** The roles allowed to call a route (any one suffices); a route without it only needs a valid token. */
export const Roles = Reflector.createDecorator<readonly Role[]>();

/** Every role: reading is open to any authenticated user. */
export const ANY_ROLE: readonly Role[] = ROLES;

/** Marks a route that needs no token (health probes, signed artifact downloads). */
export const Public = Reflector.createDecorator<true>({ transform: () => true });

/**
 * Also accepts the bearer token as `?access_token=` (when no Authorization header is sent): for
 * EventSource clients, which cannot set headers. Only for streams, since URLs end up in logs.
 */
export const AccessTokenInQuery = Reflector.createDecorator<true>({ transform: () => true });

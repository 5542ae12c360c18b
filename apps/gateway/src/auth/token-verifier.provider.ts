import type { Provider } from '@nestjs/common';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps.js';
import { createTokenVerifier } from './tokens.js';

/** Injection token of the app's one `TokenVerifier` (its JWKS cache is shared by every route). */
export const TOKEN_VERIFIER = Symbol('TokenVerifier');

export const tokenVerifierProvider: Provider = {
  provide: TOKEN_VERIFIER,
  inject: [GATEWAY_DEPS],
  useFactory: (deps: GatewayDeps) => createTokenVerifier({
    secret: deps.jwtSecret,
    ...(deps.jwtPreviousSecrets === undefined ? {} : { previousSecrets: deps.jwtPreviousSecrets }),
    ...(deps.jwks === undefined ? {} : { jwks: deps.jwks }),
  }),
};

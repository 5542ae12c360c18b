export { createGatewayApp, type GatewayListenOptions } from './create-gateway-app.js';
export { GatewayModule } from './gateway.module.js';
export { GATEWAY_DEPS, type GatewayDeps } from './gateway-deps.js';
export { issueDevToken, TOKEN_ISSUER, type IssueDevTokenOptions, type Principal } from './auth/tokens.js';
export type { ErrorBody } from './errors/http-error.filter.js';
export { createTokenVerifier, type JwksOptions, type TokenKeys, type TokenVerifier } from './auth/tokens.js';
export {
  DEFAULT_RATE_LIMITS, RATE_LIMIT_RULES, type RateLimit, type RateLimitOptions, type RateLimitRule,
} from './rate-limits/rate-limit-rules.js';
export { RATE_LIMIT_BUCKET } from './rate-limits/rate-limiter.js';

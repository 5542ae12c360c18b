export { createGatewayApp, type GatewayListenOptions } from './create-gateway-app.js';
export { GatewayModule } from './gateway.module.js';
export { GATEWAY_DEPS, type GatewayDeps } from './gateway-deps.js';
export { issueDevToken, TOKEN_ISSUER, type IssueDevTokenOptions, type Principal } from './auth/tokens.js';
export type { ErrorBody } from './errors/http-error.filter.js';

import { describe, expect, it } from '@jest/globals';
import type { ArtifactStore, MessageBus } from '@hotswap/infrastructure';
import { GatewayModule, type GatewayDeps } from './index.js';

const deps: GatewayDeps = {
  // register() only checks the plain settings; the adapters are used once requests come in.
  bus: {} as MessageBus,
  artifacts: {} as ArtifactStore,
  jwtSecret: 'jwt',
  urlSigningSecret: 'url',
  maxUploadBytes: 1024,
  clock: () => new Date(),
};

describe('GatewayModule.register', () => {
  it('provides the dependencies to the module', () => {
    expect(GatewayModule.register(deps).module).toBe(GatewayModule);
  });

  it.each([
    [{ jwtSecret: '' }, 'GatewayDeps.jwtSecret must not be empty'],
    [{ urlSigningSecret: '' }, 'GatewayDeps.urlSigningSecret must not be empty'],
    [{ maxUploadBytes: 0 }, 'GatewayDeps.maxUploadBytes must be a positive integer, got 0'],
    [{ maxUploadBytes: 1.5 }, 'GatewayDeps.maxUploadBytes must be a positive integer, got 1.5'],
    [{ requestTimeoutMs: 0 }, 'GatewayDeps.requestTimeoutMs must be at least 1, got 0'],
    [{ uploadTimeoutMs: Number.NaN }, 'GatewayDeps.uploadTimeoutMs must be at least 1, got NaN'],
    [{ jwks: { url: 'jwks.json' } }, 'GatewayDeps.jwks.url must be an absolute URL, got "jwks.json"'],
    [{ rateLimits: { upload: { limit: 0, windowMs: 1000 } } }, 'GatewayDeps.rateLimits.upload.limit must be a positive integer, got 0'],
    [{ rateLimits: { monitor: { limit: 5, windowMs: 0.5 } } }, 'GatewayDeps.rateLimits.monitor.windowMs must be a positive integer, got 0.5'],
    [{ rateLimits: { heartbeat: { limit: 5, windowMs: 1000 } } }, 'GatewayDeps.rateLimits.heartbeat is not a rule; rules are upload, createDistribution, monitor'],
  ] as Array<[Partial<Record<keyof GatewayDeps, unknown>>, string]>)('refuses %j', (override, message) => {
    expect(() => GatewayModule.register({ ...deps, ...override } as GatewayDeps)).toThrow(message);
  });
});

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RequestMethod, type INestApplication, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DISTRIBUTION_VERBS, ROLES, type Role } from '@hotswap/contracts';
import { LocalFileArtifactStore, MessageBus, signUrl } from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { GatewayModule } from '../gateway.module.js';
import { createGatewayApp, issueDevToken } from '../index.js';

/**
 * The spec's RBAC table against every route the gateway serves. No service answers, so a request
 * that passes authentication and authorisation ends in 4xx/5xx from validation or the missing
 * service — anything but 401/403.
 */
jest.setTimeout(30_000);

const jwtSecret = 'rbac-test-secret';
const urlSigningSecret = 'rbac-url-secret';
const NOW = new Date('2030-06-01T12:00:00.000Z');
const quiet = { warn: () => undefined, error: () => undefined };

type Access = 'public' | readonly Role[];
const READ: Access = ROLES;
const ADMIN: Access = ['Admin'];
const MODEL_DEVELOPER: Access = ['Admin', 'ModelDeveloper'];
const OPERATOR: Access = ['Admin', 'Operator'];

/** Every route (`METHOD /path`) with a concrete path to call and who may call it. */
const ROUTES: Readonly<Record<string, { readonly url: () => string; readonly access: Access }>> = {
  'GET /healthz': { url: () => '/healthz', access: 'public' },
  'GET /readyz': { url: () => '/readyz', access: 'public' },
  'GET /metrics': { url: () => '/metrics', access: 'public' },
  'GET /docs': { url: () => '/docs', access: 'public' },
  'GET /docs/openapi.json': { url: () => '/docs/openapi.json', access: 'public' },
  'GET /': { url: () => '/', access: 'public' },
  'GET /dashboard/:file': { url: () => '/dashboard/app.js', access: 'public' },
  // Public, but only with a valid signature: the URL is the credential.
  'GET /artifacts/*key': {
    url: () => signUrl('', 'models/m-1/model.onnx', { secret: urlSigningSecret, expiresAt: new Date(NOW.getTime() + 60_000) }),
    access: 'public',
  },
  'POST /api/v1/models': { url: () => '/api/v1/models', access: MODEL_DEVELOPER },
  'GET /api/v1/models': { url: () => '/api/v1/models', access: READ },
  'GET /api/v1/models/:id': { url: () => '/api/v1/models/m-1', access: READ },
  'POST /api/v1/models/:id/validate': { url: () => '/api/v1/models/m-1/validate', access: MODEL_DEVELOPER },
  'GET /api/v1/models/:id/validation-report': { url: () => '/api/v1/models/m-1/validation-report', access: READ },
  'GET /api/v1/models/:name/versions': { url: () => '/api/v1/models/fraud/versions', access: READ },
  'GET /api/v1/models/:name/versions/:version': { url: () => '/api/v1/models/fraud/versions/1.0.0', access: READ },
  'POST /api/v1/models/:name/versions/:version/deprecate': { url: () => '/api/v1/models/fraud/versions/1.0.0/deprecate', access: MODEL_DEVELOPER },
  'DELETE /api/v1/models/:name/versions/:version': { url: () => '/api/v1/models/fraud/versions/1.0.0', access: ADMIN },
  'POST /api/v1/models/:name/versions/:version/rollback': { url: () => '/api/v1/models/fraud/versions/1.0.0/rollback', access: OPERATOR },
  'POST /api/v1/distributions': { url: () => '/api/v1/distributions', access: OPERATOR },
  'GET /api/v1/distributions/:id/status': { url: () => '/api/v1/distributions/d-1/status', access: READ },
  'GET /api/v1/distributions': { url: () => '/api/v1/distributions', access: READ },
  'GET /api/v1/distributions/:id/metrics': { url: () => '/api/v1/distributions/d-1/metrics', access: READ },
  'GET /api/v1/distributions/:id/report': { url: () => '/api/v1/distributions/d-1/report', access: READ },
  // No distributor answers here, so the stream fails before it starts (503) instead of staying open.
  'GET /api/v1/distributions/:id/events': { url: () => '/api/v1/distributions/d-1/events', access: READ },
  ...Object.fromEntries(DISTRIBUTION_VERBS.map((verb) => [
    `POST /api/v1/distributions/:id/${verb}`, { url: () => `/api/v1/distributions/d-1/${verb}`, access: OPERATOR },
  ])),
  'POST /api/v1/datasets': { url: () => '/api/v1/datasets', access: MODEL_DEVELOPER },
  'GET /api/v1/datasets/:id': { url: () => '/api/v1/datasets/ds-1', access: READ },
  // Provisioning may also use X-Api-Key (register-device.int.spec.ts); with a token it is Admin only.
  'POST /api/v1/devices': { url: () => '/api/v1/devices', access: ADMIN },
  'GET /api/v1/devices': { url: () => '/api/v1/devices', access: READ },
  'GET /api/v1/devices/:id': { url: () => '/api/v1/devices/cam-1', access: READ },
  'PUT /api/v1/devices/:id': { url: () => '/api/v1/devices/cam-1', access: OPERATOR },
  'DELETE /api/v1/devices/:id': { url: () => '/api/v1/devices/cam-1', access: ADMIN },
  'GET /api/v1/devices/:id/metrics': { url: () => '/api/v1/devices/cam-1/metrics', access: READ },
  'POST /api/v1/api-keys': { url: () => '/api/v1/api-keys', access: ADMIN },
  'GET /api/v1/api-keys': { url: () => '/api/v1/api-keys', access: ADMIN },
  'POST /api/v1/api-keys/:id/rotate': { url: () => '/api/v1/api-keys/0123456789abcdef/rotate', access: ADMIN },
  'DELETE /api/v1/api-keys/:id': { url: () => '/api/v1/api-keys/0123456789abcdef', access: ADMIN },
  'GET /api/v1/audit': { url: () => '/api/v1/audit', access: OPERATOR },
  'POST /api/v1/retention/run': { url: () => '/api/v1/retention/run?dryRun=true', access: ADMIN },
};

/** `METHOD /path` of every handler of the controllers `GatewayModule` registers, read from Nest's metadata. */
function registeredRoutes(): string[] {
  const module = GatewayModule.register({
    bus: {} as MessageBus, artifacts: {} as LocalFileArtifactStore, jwtSecret, urlSigningSecret, maxUploadBytes: 1, clock: () => NOW,
  });
  const routes: string[] = [];
  for (const controller of (module.controllers ?? []) as Type[]) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function' || name === 'constructor') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      const full = `/${[base, path].map((part) => part.replace(/^\/+|\/+$/g, '')).filter((part) => part !== '').join('/')}`;
      routes.push(`${RequestMethod[method]} ${full}`);
    }
  }
  return routes.sort();
}

let nats: NatsServer;
let nc: NatsConnection;
let dir: string;
let app: INestApplication;
let baseUrl: string;
const tokens = new Map<Role, string>();

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(join(tmpdir(), 'gw-rbac-'));
  app = await createGatewayApp({
    bus: new MessageBus(nc, { logger: quiet }), artifacts: new LocalFileArtifactStore({ rootDir: dir }),
    jwtSecret, urlSigningSecret, maxUploadBytes: 1024, clock: () => NOW, requestTimeoutMs: 200,
  }, { host: '127.0.0.1', port: 0, logger: false });
  baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  for (const role of ROLES) tokens.set(role, await issueDevToken({ secret: jwtSecret, subject: `user-${role}`, roles: [role], ttlSeconds: 600, now: NOW }));
}, 30_000);

afterAll(async () => {
  await app?.close();
  await nc?.close();
  await nats?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('RBAC matrix', () => {
  it('has an entry for exactly the routes the gateway serves', () => {
    expect(registeredRoutes()).toEqual(Object.keys(ROUTES).sort());
  });

  it.each(Object.entries(ROUTES))('%s: 401 without a token, 403 for a role outside the table, allowed for the rest', async (route, { url, access }) => {
    const method = route.split(' ')[0];
    const callers: Array<Role | 'no token'> = ['no token', ...ROLES];
    const outcomes: Record<string, number> = {};
    const expected: Record<string, number | 'allowed'> = {};
    for (const caller of callers) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (caller !== 'no token') headers['authorization'] = `Bearer ${tokens.get(caller)}`;
      const response = await fetch(`${baseUrl}${url()}`, { method, headers, ...(method === 'GET' ? {} : { body: '{}' }) });
      await response.arrayBuffer();
      outcomes[caller] = response.status === 401 || response.status === 403 ? response.status : ('allowed' as never);
      expected[caller] = access === 'public' || (caller !== 'no token' && access.includes(caller))
        ? 'allowed'
        : caller === 'no token' ? 401 : 403;
    }
    expect(outcomes).toEqual(expected);
  });
});

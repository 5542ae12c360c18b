import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  Commands, Queries, type DeprecateModelVersionCommand, type ListModelVersionsQuery, type ModelVersionCommand, type ModelVersionQuery, type Role,
} from '@hotswap/contracts';
import { HARNESS_NOW, startGatewayHarness, type GatewayHarness } from '../../testing/gateway-harness.js';

/**
 * The version routes of FR-AI-007 (`/api/v1/models/{name}/versions...`) against a real
 * nats-server; the test plays the model registry on NATS.
 */

jest.setTimeout(20_000);

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness('version-routes');
}, 30_000);

afterAll(async () => {
  await harness?.close();
});

beforeEach(async () => {
  await harness.resetHandlers();
});

const serve = <T>(subject: string, handler: (payload: T) => unknown) => harness.serve(subject, handler);
const call: GatewayHarness['call'] = (...args) => harness.call(...args);

const rejection = (code: string, message: string, details?: unknown) => Object.assign(new Error(message), { code, details });

const view = (version: string, status = 'Validated') => ({ id: `adder-${version}`, name: 'adder', version, status, uploadedAt: '2030-05-01T00:00:00.000Z' });

describe('GET /api/v1/models/{name}/versions', () => {
  it('returns the registry\'s history to any role', async () => {
    const history = { name: 'adder', items: [view('2.0.0'), view('1.10.0', 'Deprecated'), view('1.2.0')], total: 3 };
    const asked = await serve<ListModelVersionsQuery>(Queries.listModelVersions, () => history);
    expect(await call('/api/v1/models/adder/versions', ['Viewer'])).toEqual({ status: 200, body: history });
    expect(asked).toEqual([{ name: 'adder' }]);
  });

  it('passes on 404 for a name without versions', async () => {
    await serve(Queries.listModelVersions, () => { throw rejection('NOT_FOUND', 'model ghost has no versions'); });
    expect(await call('/api/v1/models/ghost/versions', ['Operator']))
      .toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'model ghost has no versions' } });
  });

  it('refuses a name that cannot be a model name before asking anyone', async () => {
    const asked = await serve(Queries.listModelVersions, () => ({}));
    const reply = await call('/api/v1/models/adder*/versions', ['Viewer']);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ message: 'model name "adder*" must not contain "*", ">" or whitespace', details: { properties: ['name'] } });
    expect(asked).toEqual([]);
  });

  it('refuses a request without a token', async () => {
    expect((await fetch(`${harness.baseUrl}/api/v1/models/adder/versions`)).status).toBe(401);
  });
});

describe('GET /api/v1/models/{name}/versions/{version}', () => {
  it('returns one version, build metadata and all, and 404 naming a missing one', async () => {
    const asked = await serve<ModelVersionQuery>(Queries.getModelVersion, ({ version }) => {
      if (version === '9.9.9') throw rejection('NOT_FOUND', 'model adder has no version 9.9.9');
      return view(version);
    });
    expect(await call('/api/v1/models/adder/versions/1.2.0-rc.1+b7', ['Viewer'])).toEqual({ status: 200, body: view('1.2.0-rc.1+b7') });
    expect((await call('/api/v1/models/adder/versions/9.9.9', ['Viewer'])).body.message).toBe('model adder has no version 9.9.9');
    expect(asked).toEqual([{ name: 'adder', version: '1.2.0-rc.1+b7' }, { name: 'adder', version: '9.9.9' }]);
  });

  it.each(['1.2', 'latest', '01.2.3'])('refuses the version %p with 400 naming it', async (version) => {
    const reply = await call(`/api/v1/models/adder/versions/${version}`, ['Viewer']);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      message: `version "${version}" must be a semantic version MAJOR.MINOR.PATCH[-prerelease][+build]`, details: { properties: ['version'] },
    });
  });
});

describe('POST /api/v1/models/{name}/versions/{version}/deprecate', () => {
  const deprecate = (body: unknown, roles: Role[] = ['ModelDeveloper']) =>
    call('/api/v1/models/adder/versions/1.0.0/deprecate', roles, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });

  it('forwards the caller as actor with the reason and answers 200 with the deprecated version', async () => {
    const asked = await serve<DeprecateModelVersionCommand>(Commands.deprecateModelVersion, () => view('1.0.0', 'Deprecated'));
    expect(await deprecate({ reason: 'night-time regression' })).toEqual({ status: 200, body: view('1.0.0', 'Deprecated') });
    expect((await deprecate(undefined, ['Admin'])).status).toBe(200);
    expect(asked).toEqual([
      { actor: 'dora', name: 'adder', version: '1.0.0', reason: 'night-time regression' },
      { actor: 'dora', name: 'adder', version: '1.0.0' },
    ]);
  });

  it('refuses an Operator and a Viewer with 403', async () => {
    expect((await deprecate({}, ['Operator'])).status).toBe(403);
    expect((await deprecate({}, ['Viewer'])).status).toBe(403);
  });

  it.each([
    ['a reason that is not a string', { reason: 5 }, 'reason must be a string', ['reason']],
    ['a reason of 501 characters', { reason: 'x'.repeat(501) }, 'reason must be at most 500 characters', ['reason']],
    ['an unknown field', { force: true }, 'force: property force should not exist', ['force']],
  ])('refuses %s with 400 naming the field', async (_case, body, message, properties) => {
    const asked = await serve(Commands.deprecateModelVersion, () => ({}));
    const reply = await deprecate(body);
    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain(message);
    expect(reply.body.details).toEqual({ properties });
    expect(asked).toEqual([]);
  });

  it('passes on 409 for a version already deprecated', async () => {
    await serve(Commands.deprecateModelVersion, () => { throw rejection('CONFLICT', 'model adder-1.0.0 is already Deprecated (since …)'); });
    expect(await deprecate({})).toMatchObject({ status: 409, body: { message: 'model adder-1.0.0 is already Deprecated (since …)' } });
  });
});

describe('DELETE /api/v1/models/{name}/versions/{version}', () => {
  const remove = (roles: Role[] = ['Admin'], path = '/api/v1/models/adder/versions/1.0.0') => call(path, roles, { method: 'DELETE' });

  it('lets an Admin delete, with the caller as actor, and answers what was deleted', async () => {
    const deleted = { id: 'adder-1.0.0', name: 'adder', version: '1.0.0', status: 'Deleted', deletedAt: HARNESS_NOW.toISOString(), deletedBy: 'dora' };
    const asked = await serve<ModelVersionCommand>(Commands.deleteModelVersion, () => deleted);
    expect(await remove()).toEqual({ status: 200, body: deleted });
    expect(asked).toEqual([{ actor: 'dora', name: 'adder', version: '1.0.0' }]);
  });

  it('refuses every other role with 403', async () => {
    for (const role of ['ModelDeveloper', 'Operator', 'Viewer'] as const) expect((await remove([role])).status).toBe(403);
  });

  it('passes on 409 with the devices that run the version', async () => {
    const message = 'model adder-1.0.0 runs on 2 devices (d-1, d-2); move them to another version before deleting it';
    await serve(Commands.deleteModelVersion, () => { throw rejection('CONFLICT', message, { devices: ['d-1', 'd-2'], deviceCount: 2 }); });
    expect(await remove()).toEqual({
      status: 409, body: { statusCode: 409, error: 'Conflict', message, details: { devices: ['d-1', 'd-2'], deviceCount: 2 } },
    });
  });

  it('refuses a bad version before asking anyone', async () => {
    expect((await remove(['Admin'], '/api/v1/models/adder/versions/v1')).status).toBe(400);
  });
});

describe('POST /api/v1/models/{name}/versions/{version}/rollback', () => {
  const rollback = (roles: Role[] = ['Operator']) => call('/api/v1/models/adder/versions/1.0.0/rollback', roles, { method: 'POST' });

  it('answers 202 with the distribution an Operator or Admin started', async () => {
    const asked = await serve<ModelVersionCommand>(Commands.rollbackModelVersion, () => ({ id: 'dist-9', status: 'Running', extra: 1 }));
    expect(await rollback()).toEqual({ status: 202, body: { id: 'dist-9', status: 'Running' } });
    expect((await rollback(['Admin'])).status).toBe(202);
    expect(asked).toEqual([{ actor: 'dora', name: 'adder', version: '1.0.0' }, { actor: 'dora', name: 'adder', version: '1.0.0' }]);
  });

  it('refuses a ModelDeveloper and a Viewer with 403', async () => {
    expect((await rollback(['ModelDeveloper'])).status).toBe(403);
    expect((await rollback(['Viewer'])).status).toBe(403);
  });

  it.each([
    ['BAD_REQUEST', 400, 'no device runs a version of model adder, so there is nothing to roll back'],
    ['CONFLICT', 409, 'model adder-1.0.0 is Deprecated (since …); it cannot be rolled back to'],
    ['NOT_FOUND', 404, 'model adder-1.0.0 not found'],
  ])('passes on %s as %i with the message', async (code, status, message) => {
    await serve(Commands.rollbackModelVersion, () => { throw rejection(code, message); });
    expect(await rollback()).toMatchObject({ status, body: { statusCode: status, message } });
  });
});

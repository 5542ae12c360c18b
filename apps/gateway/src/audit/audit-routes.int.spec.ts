import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Commands, Queries, type ApplyRetentionPolicyCommand, type AuditPage, type AuditQuery, type RetentionReport } from '@hotswap/contracts';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness.js';

/**
 * `GET /api/v1/audit` and `POST /api/v1/retention/run` against a real nats-server; the test plays
 * the monitor and the model registry on NATS.
 */
jest.setTimeout(20_000);

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness('audit-routes');
}, 30_000);

afterAll(async () => {
  await harness?.close();
});

beforeEach(async () => {
  await harness.resetHandlers();
});

const page: AuditPage = {
  items: [{
    at: '2030-05-01T00:00:00.000Z', actor: 'mona', action: 'ModelDeprecated', resource: 'model-adder-1.0.0',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736', summary: { modelId: 'adder-1.0.0' }, position: '7',
  }],
  nextCursor: '7.0',
};

describe('GET /api/v1/audit', () => {
  it('passes every filter to the monitor, the limit as a number, and returns its page', async () => {
    const asked = await harness.serve<AuditQuery>(Queries.listAuditEntries, () => page);
    const query = 'actor=mona&resource=model-adder-1.0.0&action=ModelDeprecated&from=2030-05-01T00:00:00Z&to=2030-06-01T00:00:00Z&limit=20&cursor=9.1';
    expect(await harness.call(`/api/v1/audit?${query}`, ['Operator'])).toEqual({ status: 200, body: page });
    expect(asked).toEqual([{
      actor: 'mona', resource: 'model-adder-1.0.0', action: 'ModelDeprecated', from: '2030-05-01T00:00:00Z', to: '2030-06-01T00:00:00Z', limit: 20, cursor: '9.1',
    }]);
  });

  it.each([
    ['from=last-week', 'from', 'from must be an ISO 8601 date-time'],
    ['to=2030-02-30T99:00:00Z', 'to', 'to must be an ISO 8601 date-time'],
    ['limit=0', 'limit', 'limit must be an integer from 1 to 500'],
    ['limit=1000', 'limit', 'limit must be an integer from 1 to 500'],
    ['limit=ten', 'limit', 'limit must be an integer from 1 to 500'],
    ['action=Hacked', 'action', 'action must be an event type'],
    ['cursor=x', 'cursor', 'cursor must be the nextCursor of a previous page'],
    ['who=me', 'who', 'property who should not exist'],
  ])('answers 400 naming the field for %s, without asking the monitor', async (query, property, message) => {
    const asked = await harness.serve(Queries.listAuditEntries, () => page);
    const reply = await harness.call(`/api/v1/audit?${query}`, ['Admin']);
    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain(message);
    expect(reply.body.details).toEqual({ properties: [property] });
    expect(asked).toEqual([]);
  });

  it('is refused to roles that do not read the audit trail', async () => {
    expect((await harness.call('/api/v1/audit', ['Viewer'])).status).toBe(403);
    expect((await harness.call('/api/v1/audit', ['ModelDeveloper'])).status).toBe(403);
  });
});

describe('POST /api/v1/retention/run', () => {
  const report: RetentionReport = {
    dryRun: true, policy: { keepLatest: 2 }, ranAt: '2030-06-01T12:00:00.000Z',
    deleted: [{ id: 'adder-1.0.0', name: 'adder', version: '1.0.0', reason: 'not among the newest 2 versions of adder' }], kept: [], failed: [],
  };

  it('runs the policy as the caller, as a dry run when asked', async () => {
    const asked = await harness.serve<ApplyRetentionPolicyCommand>(Commands.applyRetentionPolicy, () => report);
    expect(await harness.call('/api/v1/retention/run?dryRun=true', ['Admin'], { method: 'POST' })).toEqual({ status: 200, body: report });
    await harness.call('/api/v1/retention/run', ['Admin'], { method: 'POST' });
    expect(asked).toEqual([{ actor: 'dora', dryRun: true }, { actor: 'dora', dryRun: false }]);
  });

  it('refuses a dryRun that is not true or false', async () => {
    const asked = await harness.serve(Commands.applyRetentionPolicy, () => report);
    const reply = await harness.call('/api/v1/retention/run?dryRun=yes', ['Admin'], { method: 'POST' });
    expect(reply).toMatchObject({ status: 400, body: { message: 'dryRun must be true or false, got "yes"', details: { properties: ['dryRun'] } } });
    expect(asked).toEqual([]);
  });

  it('passes on the registry\'s 409 when the policy is off', async () => {
    await harness.serve(Commands.applyRetentionPolicy, () => {
      throw Object.assign(new Error('the retention policy is off: set HOTSWAP_RETENTION_KEEP_LATEST and/or HOTSWAP_RETENTION_MAX_AGE'), { code: 'CONFLICT' });
    });
    expect(await harness.call('/api/v1/retention/run', ['Admin'], { method: 'POST' })).toMatchObject({ status: 409 });
  });
});

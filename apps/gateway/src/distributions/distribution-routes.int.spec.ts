import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  Commands, DISTRIBUTION_VERBS, Queries,
  type ByIdQuery, type ControlDistributionCommand, type CreateDistributionCommand, type DistributionMetricsView,
  type DistributionPlanView, type DistributionStatusView, type PlanDistributionQuery,
} from '@hotswap/contracts';
import { HARNESS_NOW, startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness.js';

/**
 * The distribution routes of issue 5 (create with the strategy fields and dry run, list, metrics,
 * report, operator verbs) against a real nats-server; the test plays the distributor and the
 * monitor on NATS. Roles per route: rbac-matrix.int.spec.ts. The live stream: distribution-events.int.spec.ts.
 */
jest.setTimeout(20_000);

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness('distribution-routes');
}, 30_000);

afterAll(async () => {
  await harness?.close();
});

beforeEach(async () => {
  await harness.resetHandlers();
});

const serve = <T>(subject: string, handler: (payload: T) => unknown) => harness.serve(subject, handler);
const call: GatewayHarness['call'] = (...args) => harness.call(...args);
const post = (path: string, body: unknown, roles: Parameters<GatewayHarness['call']>[1] = ['Operator']) =>
  call(path, roles, { method: 'POST', body: JSON.stringify(body) });
const rejection = (code: string, message: string, details?: unknown) => Object.assign(new Error(message), { code, details });

const canary = {
  modelId: 'adder-2.0.0',
  strategy: 'Canary',
  targetFilter: { region: 'us-east-1', tags: ['edge'], capabilities: { gpu: false, minMemoryMb: 256 } },
  canaryPercentage: 10,
  canaryDuration: 'PT15M',
  successCriteria: { maxLatencyMs: 50, maxErrorRate: 0.01 },
  rollbackPolicy: 'Automatic',
  schedule: { startAt: '2030-06-02T02:00:00Z' },
  execution: { maxInFlight: 50, ratePerMinute: 1000, rampFactor: 2, initialRatePerMinute: 100, deviceTimeout: 'PT2M', healthWindow: 'PT30S' },
  maintenanceWindows: [{ regions: ['us-east-1'], start: '22:00', end: '04:00' }],
};

const plan: DistributionPlanView = {
  strategy: 'Canary',
  modelId: 'adder-2.0.0',
  waves: [
    { wave: 0, name: 'canary', group: 'canary', modelId: 'adder-2.0.0', deviceIds: ['dev-001'], size: 1, observeMs: 900_000 },
    { wave: 1, name: 'rest', group: 'rest', modelId: 'adder-2.0.0', deviceIds: ['dev-002', 'dev-003'], size: 2, observeMs: 0 },
  ],
  excluded: [{ deviceId: 'dev-009', reason: 'the model needs a GPU; dev-009 has none' }],
  startAt: '2030-06-02T02:00:00.000Z',
  execution: {
    maxInFlight: 50, ratePerMinute: 1000, rampFactor: 2, initialRatePerMinute: 100, deviceTimeoutMs: 120_000, maxRetries: 2,
    retryBackoffMs: 5_000, healthWindowMs: 30_000, minHealthSamples: 10, maxFailurePercentage: 0,
  },
};

function statusView(status: DistributionStatusView['status'] = 'Running', overrides: Partial<DistributionStatusView> = {}): DistributionStatusView {
  return {
    id: 'dist-1', modelId: 'adder-2.0.0', strategy: 'Canary', status, stage: 'canary',
    progress: { total: 3, updated: 1, failed: 0, pending: 2, rolledBack: 0 },
    waves: plan.waves,
    devices: [{ deviceId: 'dev-001', state: 'Updated', wave: 0, swapMs: 80 }, { deviceId: 'dev-002', state: 'Pending', wave: 1 }, { deviceId: 'dev-003', state: 'Pending', wave: 1 }],
    devicesPage: { offset: 0, limit: 1000, total: 3 },
    excluded: plan.excluded, rollbackPolicy: 'Automatic', successCriteria: { maxErrorRate: 0.01 }, execution: plan.execution,
    createdAt: '2030-06-01T11:00:00.000Z', startedAt: '2030-06-01T11:00:01.000Z',
    history: [{ at: '2030-06-01T11:00:00.000Z', action: 'Created', by: 'dora' }],
    ...overrides,
  };
}

const metrics: DistributionMetricsView = {
  distributionId: 'dist-1',
  groups: [{ group: 'canary', modelId: 'adder-2.0.0', devices: 1, samples: 500, errorRate: 0.002, latencyMs: { p50: 3, p95: 5, p99: 8 }, accuracy: null, throughputPerSec: 10 }],
  baseline: [{ group: 'control', modelId: 'adder-1.0.0', devices: 2, samples: 900, errorRate: 0.001, latencyMs: { p50: 3, p95: 4, p99: 7 }, accuracy: null, throughputPerSec: 20 }],
  series: [{ at: '2030-06-01T11:05:00.000Z', group: 'canary', modelId: 'adder-2.0.0', samples: 50, errorRate: 0, latencyP99Ms: 8, accuracy: null }],
};

describe('POST /api/v1/distributions', () => {
  it('forwards the strategy fields, the execution settings and the caller as actor, and answers 202 { id, status }', async () => {
    const commands = await serve<CreateDistributionCommand>(Commands.createDistribution, () => ({ id: 'dist-1', status: 'Scheduled', waves: 2 }));
    expect(await post('/api/v1/distributions', canary)).toEqual({ status: 202, body: { id: 'dist-1', status: 'Scheduled' } });
    expect(commands).toEqual([{ ...canary, actor: 'dora' }]);
  });

  it.each([
    ['RegionalRollout', { regions: ['us-west-1', 'eu-central-1'], delayBetweenRegions: 'PT10M' }],
    ['ABTesting', { modelA: 'adder-1.0.0', modelB: 'adder-2.0.0', splitPercentage: 50, testDuration: 'PT1H', winnerCriteria: { metric: 'latency', minSamples: 500, significanceLevel: 0.01, rolloutWinner: true } }],
    ['ProgressiveRollout', { stages: [{ percentage: 10, duration: 'PT5M' }, { percentage: 50, duration: 'PT10M' }, { percentage: 100, duration: 'PT0S' }], autoProgress: false }],
  ])('accepts the %s fields of the specification', async (strategy, fields) => {
    const commands = await serve<CreateDistributionCommand>(Commands.createDistribution, () => ({ id: 'dist-2', status: 'Running' }));
    const body = { modelId: 'adder-2.0.0', strategy, targetFilter: { deviceType: 'edge-camera' }, ...fields };
    expect(await post('/api/v1/distributions', body, ['Admin'])).toEqual({ status: 202, body: { id: 'dist-2', status: 'Running' } });
    expect(commands).toEqual([{ ...body, actor: 'dora' }]);
  });

  it('plans without recording anything on ?dryRun=true: 200 with the waves and the excluded devices', async () => {
    const planned = await serve<PlanDistributionQuery>(Queries.planDistribution, () => plan);
    const created = await serve(Commands.createDistribution, () => ({ id: 'never', status: 'Running' }));
    expect(await post('/api/v1/distributions?dryRun=true', canary)).toEqual({ status: 200, body: plan });
    expect(planned).toEqual([{ ...canary, actor: 'dora' }]);
    expect(created).toEqual([]);
  });

  it('creates the distribution on ?dryRun=false', async () => {
    const created = await serve(Commands.createDistribution, () => ({ id: 'dist-3', status: 'Running' }));
    expect(await post('/api/v1/distributions?dryRun=false', canary)).toEqual({ status: 202, body: { id: 'dist-3', status: 'Running' } });
    expect(created).toHaveLength(1);
  });

  it.each([
    ['a dryRun that is not true or false', '?dryRun=yes', canary, ['dryRun'], 'dryRun must be true or false'],
    ['an unknown query parameter', '?force=true', canary, ['force'], 'property force should not exist'],
    ['a canaryDuration that is not ISO 8601', '', { ...canary, canaryDuration: '15 minutes' }, ['canaryDuration'], 'canaryDuration must be an ISO 8601 duration such as PT15M'],
    ['a canaryPercentage above 100', '', { ...canary, canaryPercentage: 150 }, ['canaryPercentage'], 'canaryPercentage must be between 0 and 100'],
    ['a stage percentage above 100', '', { modelId: 'adder-2.0.0', strategy: 'ProgressiveRollout', stages: [{ percentage: 50, duration: 'PT1M' }, { percentage: 101, duration: 'PT1M' }] },
      ['stages.1.percentage'], 'percentage must be between 0 and 100'],
    ['a stage duration that is not ISO 8601', '', { modelId: 'adder-2.0.0', strategy: 'ProgressiveRollout', stages: [{ percentage: 100, duration: '5m' }] },
      ['stages.0.duration'], 'duration must be an ISO 8601 duration'],
    ['a targetFilter transport that is not http or nats', '', { modelId: 'adder-2.0.0', strategy: 'Direct', targetFilter: { capabilities: { transport: 'ftp' } } },
      ['targetFilter.capabilities.transport'], 'transport must be one of http, nats'],
    ['an unknown rollbackPolicy', '', { ...canary, rollbackPolicy: 'Sometimes' }, ['rollbackPolicy'], 'rollbackPolicy must be one of Automatic, Freeze, Manual'],
    ['an execution deviceTimeout that is not ISO 8601', '', { ...canary, execution: { deviceTimeout: 120 } }, ['execution.deviceTimeout'], 'deviceTimeout must be an ISO 8601 duration'],
    ['an unknown A/B metric', '', { strategy: 'ABTesting', modelA: 'a-1.0.0', modelB: 'a-2.0.0', winnerCriteria: { metric: 'vibes' } }, ['winnerCriteria.metric'], 'metric must be one of accuracy, latency, errorRate'],
    ['a schedule that is not an instant', '', { ...canary, schedule: { startAt: 'tomorrow' } }, ['schedule.startAt'], 'schedule.startAt must be an ISO 8601 instant'],
    ['a maintenance window that is not HH:MM', '', { ...canary, maintenanceWindows: [{ regions: ['us-east-1'], start: '25:00', end: '04:00' }] }, ['maintenanceWindows.0.start'], 'start must be a UTC time of day HH:MM'],
  ])('refuses %s with 400 naming the field, asking nobody', async (_case, query, body, properties, message) => {
    const asked = [
      ...await serve(Commands.createDistribution, () => ({ id: 'never', status: 'Running' })),
      ...await serve(Queries.planDistribution, () => plan),
    ];
    for (const dryRun of ['', query.startsWith('?') ? '' : '?dryRun=true']) {
      const reply = await post(`/api/v1/distributions${query || dryRun}`, body);
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, error: 'Bad Request', details: { properties } });
      expect(reply.body.message).toContain(message);
    }
    expect(asked).toEqual([]);
  });

  it('passes the distributor\'s own plan validation through as 400 with the field named', async () => {
    const notIncreasing = rejection('BAD_REQUEST', 'stages[1].percentage must be above stages[0].percentage (50): stages must increase', { properties: ['stages.1.percentage'] });
    await serve(Commands.createDistribution, () => { throw notIncreasing; });
    await serve(Queries.planDistribution, () => { throw rejection('BAD_REQUEST', 'regions[1]: no device is in region mars-1', { properties: ['regions.1'] }); });
    const stages = { modelId: 'adder-2.0.0', strategy: 'ProgressiveRollout', stages: [{ percentage: 50, duration: 'PT1M' }, { percentage: 20, duration: 'PT1M' }] };
    expect(await post('/api/v1/distributions', stages)).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: notIncreasing.message, details: { properties: ['stages.1.percentage'] } },
    });
    const regional = { modelId: 'adder-2.0.0', strategy: 'RegionalRollout', regions: ['us-east-1', 'mars-1'] };
    expect(await post('/api/v1/distributions?dryRun=true', regional)).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: 'regions[1]: no device is in region mars-1', details: { properties: ['regions.1'] } },
    });
  });

  it('answers 503 naming the distributor when none answers the dry run', async () => {
    const reply = await post('/api/v1/distributions?dryRun=true', canary);
    expect(reply.status).toBe(503);
    expect(reply.body.message).toContain('distributor is unavailable');
  });
});

describe('GET /api/v1/distributions', () => {
  it('passes the filters and paging (as numbers) to the distributor and returns its page to any role', async () => {
    const { devices: _devices, ...summary } = statusView();
    const page = { items: [summary], total: 41 };
    const asked = await serve(Queries.listDistributions, () => page);
    expect(await call('/api/v1/distributions?status=Running&modelId=adder-2.0.0&limit=1&offset=40', ['Viewer'])).toEqual({ status: 200, body: page });
    expect(await call('/api/v1/distributions', ['Viewer'])).toEqual({ status: 200, body: page });
    expect(asked).toEqual([{ status: 'Running', modelId: 'adder-2.0.0', limit: 1, offset: 40 }, {}]);
  });

  it('refuses an unknown status and bad paging with 400 naming them', async () => {
    const asked = await serve(Queries.listDistributions, () => ({ items: [], total: 0 }));
    const reply = await call('/api/v1/distributions?status=Sleeping&limit=0&offset=-1', ['Viewer']);
    expect(reply.status).toBe(400);
    expect(reply.body.details.properties.sort()).toEqual(['limit', 'offset', 'status']);
    expect(reply.body.message).toContain('status must be one of Scheduled, PendingApproval, Running');
    expect(asked).toEqual([]);
  });
});

describe('GET /api/v1/distributions/{id}/metrics', () => {
  it('returns the monitor\'s figures to any role', async () => {
    const asked = await serve<ByIdQuery>(Queries.getDistributionMetrics, () => metrics);
    expect(await call('/api/v1/distributions/dist-1/metrics', ['Viewer'])).toEqual({ status: 200, body: metrics });
    expect(asked).toEqual([{ id: 'dist-1' }]);
  });

  it('passes on the monitor\'s 404', async () => {
    await serve(Queries.getDistributionMetrics, () => { throw rejection('NOT_FOUND', 'no metrics for distribution dist-9'); });
    expect(await call('/api/v1/distributions/dist-9/metrics', ['Viewer']))
      .toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'no metrics for distribution dist-9' } });
  });

  it.each(['dist*1', 'dist%201', 'dist>'])('refuses the id %s with 400 before asking anyone', async (id) => {
    const asked = await serve(Queries.getDistributionMetrics, () => metrics);
    const reply = await call(`/api/v1/distributions/${id}/metrics`, ['Viewer']);
    expect(reply.status).toBe(400);
    expect(reply.body.details).toEqual({ properties: ['id'] });
    expect(reply.body.message).toMatch(/^distribution id ".+" must/);
    expect(asked).toEqual([]);
  });
});

describe('GET /api/v1/distributions/{id}/status', () => {
  it('asks the distributor for the page of device rows the query names', async () => {
    const asked = await serve(Queries.getDistributionStatus, () => statusView());
    expect((await call('/api/v1/distributions/dist-1/status?devicesOffset=2000&devicesLimit=50', ['Viewer'])).status).toBe(200);
    expect((await call('/api/v1/distributions/dist-1/status', ['Viewer'])).body).toMatchObject({ devicesPage: { offset: 0, limit: 1000, total: 3 } });
    expect(asked).toEqual([{ id: 'dist-1', devicesOffset: 2000, devicesLimit: 50 }, { id: 'dist-1' }]);
  });

  it('refuses a page of more than 1000 rows, or a negative offset, with 400 naming them', async () => {
    const asked = await serve(Queries.getDistributionStatus, () => statusView());
    const reply = await call('/api/v1/distributions/dist-1/status?devicesOffset=-1&devicesLimit=5000', ['Viewer']);
    expect(reply.status).toBe(400);
    expect(reply.body.details.properties.sort()).toEqual(['devicesLimit', 'devicesOffset']);
    expect(asked).toEqual([]);
  });
});

describe('GET /api/v1/distributions/{id}/report', () => {
  it('puts the status, the metrics and the A/B result into one document', async () => {
    const abTest = { metric: 'latency' as const, winner: 'B' as const, pValue: 0.003, samplesA: 1200, samplesB: 1180, valueA: 9.5, valueB: 6.1, detail: 'B is faster (Mann-Whitney U)' };
    const status = statusView('Succeeded', { strategy: 'ABTesting', abTest, finishedAt: '2030-06-01T11:59:00.000Z' });
    await serve(Queries.getDistributionStatus, () => status);
    await serve(Queries.getDistributionMetrics, () => metrics);
    expect(await call('/api/v1/distributions/dist-1/report', ['Viewer'])).toEqual({
      status: 200,
      body: { id: 'dist-1', generatedAt: HARNESS_NOW.toISOString(), status, metrics, abTest },
    });
  });

  it('reports null metrics and no A/B result when the monitor has nothing for a Direct distribution', async () => {
    await serve(Queries.getDistributionStatus, () => statusView('Succeeded', { strategy: 'Direct' }));
    await serve(Queries.getDistributionMetrics, () => { throw rejection('NOT_FOUND', 'no metrics for distribution dist-1'); });
    const reply = await call('/api/v1/distributions/dist-1/report', ['Operator']);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ id: 'dist-1', status: { status: 'Succeeded' }, metrics: null, abTest: null });
  });

  it('is 404 for an unknown distribution, whatever the monitor says', async () => {
    await serve(Queries.getDistributionStatus, ({ id }: ByIdQuery) => { throw rejection('NOT_FOUND', `distribution ${id} does not exist`); });
    expect(await call('/api/v1/distributions/dist-9/report', ['Viewer']))
      .toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'distribution dist-9 does not exist' } });
  });

  it('is 503 naming the monitor when it does not answer', async () => {
    await serve(Queries.getDistributionStatus, () => statusView());
    const reply = await call('/api/v1/distributions/dist-1/report', ['Viewer']);
    expect(reply.status).toBe(503);
    expect(reply.body.message).toContain('monitor is unavailable');
  });

  it('refuses a bad id with 400', async () => {
    const reply = await call('/api/v1/distributions/*/report', ['Viewer']);
    expect(reply.status).toBe(400);
    expect(reply.body.details).toEqual({ properties: ['id'] });
  });
});

describe('POST /api/v1/distributions/{id}/<verb>', () => {
  it.each(DISTRIBUTION_VERBS)('%s: sends the verb with the caller and reason, and answers 200 with the distributor\'s status', async (verb) => {
    const after = statusView(verb === 'pause' ? 'Paused' : 'Running');
    const commands = await serve<ControlDistributionCommand>(Commands.controlDistribution, () => after);
    expect(await post(`/api/v1/distributions/dist-1/${verb}`, { reason: `${verb} for the change window` })).toEqual({ status: 200, body: after });
    expect(commands).toEqual([{ id: 'dist-1', verb, actor: 'dora', reason: `${verb} for the change window` }]);
  });

  it('takes the verb without a body, and then sends no reason', async () => {
    const commands = await serve<ControlDistributionCommand>(Commands.controlDistribution, () => statusView());
    expect((await call('/api/v1/distributions/dist-1/approve', ['Admin'], { method: 'POST' })).status).toBe(200);
    expect(commands).toEqual([{ id: 'dist-1', verb: 'approve', actor: 'dora' }]);
  });

  it('refuses a reason that is not a string, or too long, or unknown properties, with 400 naming them', async () => {
    const commands = await serve(Commands.controlDistribution, () => statusView());
    const notText = await post('/api/v1/distributions/dist-1/pause', { reason: 42, force: true });
    expect(notText.status).toBe(400);
    expect(notText.body.details.properties.sort()).toEqual(['force', 'reason']);
    expect(notText.body.message).toContain('reason must be a string');
    const tooLong = await post('/api/v1/distributions/dist-1/cancel', { reason: 'x'.repeat(501) });
    expect(tooLong.body).toMatchObject({ statusCode: 400, details: { properties: ['reason'] } });
    expect(commands).toEqual([]);
  });

  it('is 404 for a verb that does not exist', async () => {
    const commands = await serve(Commands.controlDistribution, () => statusView());
    const reply = await post('/api/v1/distributions/dist-1/explode', {});
    expect(reply.status).toBe(404);
    expect(reply.body.statusCode).toBe(404);
    expect(commands).toEqual([]);
  });

  it('passes on the distributor\'s 409 for a verb the status does not allow, and 404 for an unknown distribution', async () => {
    await serve<ControlDistributionCommand>(Commands.controlDistribution, ({ id }) => {
      if (id === 'dist-1') throw rejection('CONFLICT', 'distribution dist-1 is Succeeded: it cannot be resumed');
      throw rejection('NOT_FOUND', `distribution ${id} does not exist`);
    });
    expect(await post('/api/v1/distributions/dist-1/resume', {}))
      .toEqual({ status: 409, body: { statusCode: 409, error: 'Conflict', message: 'distribution dist-1 is Succeeded: it cannot be resumed' } });
    expect((await post('/api/v1/distributions/dist-9/resume', {})).status).toBe(404);
  });

  it('refuses a bad id with 400 and a Viewer with 403', async () => {
    const commands = await serve(Commands.controlDistribution, () => statusView());
    const badId = await post('/api/v1/distributions/dist%20one/rollback', {});
    expect(badId.status).toBe(400);
    expect(badId.body.details).toEqual({ properties: ['id'] });
    expect((await post('/api/v1/distributions/dist-1/rollback', {}, ['Viewer'])).status).toBe(403);
    expect(commands).toEqual([]);
  });
});

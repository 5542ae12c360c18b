import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  Queries, type ByIdQuery, type DistributionMetricsView, type DistributionStatus, type DistributionStatusView,
} from '@hotswap/contracts';
import { startGatewayHarness, type GatewayHarness } from '../../testing/gateway-harness.js';
import { MAX_STREAMED_DEVICES } from './distribution-event-stream.js';

/**
 * `GET /api/v1/distributions/{id}/events` (Server-Sent Events) against a real nats-server, with the
 * test playing the distributor and the monitor; polling and heartbeats compressed to milliseconds.
 */
jest.setTimeout(20_000);

const POLL_MS = 40;
const HEARTBEAT_MS = 150;
let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness('distribution-events', { distributionEvents: { pollIntervalMs: POLL_MS, heartbeatIntervalMs: HEARTBEAT_MS } });
}, 30_000);

afterAll(async () => {
  await harness?.close();
});

beforeEach(async () => {
  await harness.resetHandlers();
});

const rejection = (code: string, message: string) => Object.assign(new Error(message), { code });

function statusView(status: DistributionStatus, devices = 2): DistributionStatusView {
  return {
    id: 'dist-1', modelId: 'adder-2.0.0', strategy: 'Direct', status,
    progress: { total: devices, updated: status === 'Succeeded' ? devices : 0, failed: 0, pending: status === 'Succeeded' ? 0 : devices, rolledBack: 0 },
    waves: [{ wave: 0, name: 'all', group: 'all', modelId: 'adder-2.0.0', size: devices, observeMs: 0 }],
    devices: Array.from({ length: devices }, (_, i) => ({ deviceId: `dev-${i}`, state: status === 'Succeeded' ? 'Updated' as const : 'Requested' as const, wave: 0 })),
    devicesPage: { offset: 0, limit: 1000, total: devices },
    excluded: [], rollbackPolicy: 'Automatic', successCriteria: {},
    execution: { maxInFlight: 10, ratePerMinute: 0, rampFactor: 1, initialRatePerMinute: 1, deviceTimeoutMs: 1, maxRetries: 0, retryBackoffMs: 1, healthWindowMs: 0, minHealthSamples: 0, maxFailurePercentage: 0 },
    createdAt: '2030-06-01T11:00:00.000Z', startedAt: '2030-06-01T11:00:00.000Z', history: [],
    ...(status === 'Succeeded' ? { finishedAt: '2030-06-01T11:01:00.000Z' } : {}),
  };
}

const metrics: DistributionMetricsView = { distributionId: 'dist-1', groups: [], baseline: [], series: [] };

/** Answers the status query with `views` in turn, the last one from then on. */
async function distributorAnswering(...views: Array<DistributionStatusView | Error>): Promise<ByIdQuery[]> {
  let calls = 0;
  return harness.serve<ByIdQuery>(Queries.getDistributionStatus, () => {
    const view = views[Math.min(calls++, views.length - 1)];
    if (view instanceof Error) throw view;
    return view;
  });
}

interface Frame {
  readonly event?: string;
  readonly data?: unknown;
  readonly comment?: string;
}

interface OpenStream {
  readonly status: number;
  readonly headers: Headers;
  /** Frames until `until` holds for one (or the stream ends), then the connection is dropped. */
  readFrames(until?: (frame: Frame) => boolean): Promise<Frame[]>;
}

async function openStream(path: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const abort = new AbortController();
  const response = await fetch(`${harness.baseUrl}${path}`, { headers, signal: abort.signal });
  return {
    status: response.status,
    headers: response.headers,
    readFrames: async (until = () => false) => {
      const frames: Frame[] = [];
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return frames;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = parseFrame(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            frames.push(frame);
            if (until(frame)) return frames;
          }
        }
      } finally {
        abort.abort();
      }
    },
  };
}

function parseFrame(text: string): Frame {
  const fields = Object.fromEntries(text.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
  if (fields[''] !== undefined) return { comment: fields[''] };
  return { event: fields['event'], data: JSON.parse(fields['data'] ?? 'null') };
}

const bearer = async (roles: Parameters<GatewayHarness['token']>[0] = ['Viewer']) => ({ authorization: `Bearer ${await harness.token(roles)}` });

describe('GET /api/v1/distributions/{id}/events', () => {
  it('sends the status, the metrics, each status change, then end once the distribution has finished', async () => {
    const asked = await distributorAnswering(statusView('Running'), statusView('Running'), statusView('Succeeded'));
    await harness.serve(Queries.getDistributionMetrics, () => metrics);
    const stream = await openStream('/api/v1/distributions/dist-1/events', await bearer());
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers.get('cache-control')).toBe('no-cache, no-transform');

    const frames = (await stream.readFrames()).filter((frame) => frame.comment === undefined);

    expect(frames).toEqual([
      { event: 'status', data: statusView('Running') },
      { event: 'metrics', data: metrics },
      { event: 'status', data: statusView('Succeeded') },
      { event: 'end', data: { id: 'dist-1', status: 'Succeeded' } },
    ]);
    expect(asked).toEqual([{ id: 'dist-1' }, { id: 'dist-1' }, { id: 'dist-1' }]);
  });

  it('ends at once for a distribution that has already finished', async () => {
    await distributorAnswering(statusView('RolledBack'));
    const stream = await openStream('/api/v1/distributions/dist-1/events', await bearer());
    const frames = (await stream.readFrames()).filter((frame) => frame.comment === undefined);
    // The monitor is not running here: the stream goes on without metrics.
    expect(frames.map((frame) => frame.event)).toEqual(['status', 'end']);
    expect(frames[1].data).toEqual({ id: 'dist-1', status: 'RolledBack' });
  });

  it('skips a poll that fails and goes on with the next one', async () => {
    await distributorAnswering(statusView('Running'), rejection('UNAVAILABLE', 'distributor restarting'), statusView('Cancelled'));
    const stream = await openStream('/api/v1/distributions/dist-1/events', await bearer());
    const frames = (await stream.readFrames()).filter((frame) => frame.comment === undefined);
    expect(frames.map((frame) => [frame.event, (frame.data as { status: string }).status])).toEqual([
      ['status', 'Running'], ['status', 'Cancelled'], ['end', 'Cancelled'],
    ]);
  });

  it(`leaves out the device rows above ${MAX_STREAMED_DEVICES} targets, keeping the progress`, async () => {
    await distributorAnswering(statusView('Succeeded', MAX_STREAMED_DEVICES + 1));
    const stream = await openStream('/api/v1/distributions/dist-1/events', await bearer());
    const [status] = await stream.readFrames((frame) => frame.event === 'status');
    const { devices: _devices, ...withoutDevices } = statusView('Succeeded', MAX_STREAMED_DEVICES + 1);
    expect(status).toEqual({ event: 'status', data: withoutDevices });
  });

  it('keeps the connection alive with heartbeat comments and stops polling once the client is gone', async () => {
    const asked = await distributorAnswering(statusView('Running'));
    const stream = await openStream('/api/v1/distributions/dist-1/events', await bearer());
    const frames = await stream.readFrames((frame) => frame.comment !== undefined);
    expect(frames).toEqual([{ event: 'status', data: statusView('Running') }, { comment: 'heartbeat' }]);
    // Polls in flight when the client left may still land; after that none.
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 4));
    const settled = asked.length;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 4));
    expect(asked.length).toBe(settled);
    // The first read, and at least one poll before the client left.
    expect(settled).toBeGreaterThanOrEqual(2);
  });

  it('does not start polling for a client that left while the first status was read', async () => {
    let calls = 0;
    await harness.serve(Queries.getDistributionStatus, async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 150));
      return statusView('Running');
    });
    const abort = new AbortController();
    const request = fetch(`${harness.baseUrl}/api/v1/distributions/dist-1/events`, { headers: await bearer(), signal: abort.signal });
    setTimeout(() => abort.abort(), 30);
    await expect(request).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 150 + POLL_MS * 5));
    expect(calls).toBe(1);
  });

  it('takes the token from ?access_token= for EventSource clients', async () => {
    await distributorAnswering(statusView('Succeeded'));
    const stream = await openStream(`/api/v1/distributions/dist-1/events?access_token=${await harness.token(['Viewer'])}`);
    expect(stream.status).toBe(200);
    expect((await stream.readFrames()).map((frame) => frame.event)).toEqual(['status', 'end']);
  });

  it('is 401 without a token or with a bad one in ?access_token=, which other routes ignore', async () => {
    await distributorAnswering(statusView('Succeeded'));
    await harness.serve(Queries.getDistributionMetrics, () => metrics);
    const token = await harness.token(['Viewer']);
    for (const path of ['/api/v1/distributions/dist-1/events', '/api/v1/distributions/dist-1/events?access_token=not-a-jwt', `/api/v1/distributions/dist-1/metrics?access_token=${token}`]) {
      const response = await fetch(`${harness.baseUrl}${path}`);
      expect({ path, status: response.status }).toEqual({ path, status: 401 });
      expect(await response.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    }
  });

  it('answers an unknown distribution with a plain 404 and a bad id with 400, not a stream', async () => {
    await harness.serve<ByIdQuery>(Queries.getDistributionStatus, ({ id }) => { throw rejection('NOT_FOUND', `distribution ${id} does not exist`); });
    const missing = await fetch(`${harness.baseUrl}/api/v1/distributions/dist-9/events`, { headers: await bearer() });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'distribution dist-9 does not exist' });
    const badId = await fetch(`${harness.baseUrl}/api/v1/distributions/dist*9/events`, { headers: await bearer() });
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({ details: { properties: ['id'] } });
  });

  it('ends open streams when the gateway shuts down', async () => {
    const own = await startGatewayHarness('distribution-events-shutdown', { distributionEvents: { pollIntervalMs: POLL_MS, heartbeatIntervalMs: HEARTBEAT_MS } });
    await own.serve(Queries.getDistributionStatus, () => statusView('Running'));
    const response = await fetch(`${own.baseUrl}/api/v1/distributions/dist-1/events`, { headers: { authorization: `Bearer ${await own.token(['Viewer'])}` } });
    const body = response.text();
    await own.close();
    expect(await body).toContain('event: status');
  });
});

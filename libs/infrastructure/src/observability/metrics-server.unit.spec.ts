import { afterEach, describe, expect, it } from '@jest/globals';
import { startMetrics, type ServiceMetrics } from './metrics.js';
import { observeGauge, serveMetrics, type MetricsServer } from './metrics-server.js';
import { countHttpConnections } from './connections.js';
import { Readiness, ReadinessCheckExistsError } from './readiness.js';
import { eventually } from '../testing/eventually.js';

describe('metrics server of a NATS-only service', () => {
  let metrics: ServiceMetrics | undefined;
  let server: MetricsServer | undefined;

  afterEach(async () => {
    await server?.close();
    await metrics?.shutdown();
    server = undefined;
    metrics = undefined;
  });

  it('serves the Prometheus text at GET /metrics and 404 elsewhere', async () => {
    metrics = startMetrics({ serviceName: 'validator', processMetrics: false });
    metrics.counters.modelsUploaded.add(2);
    server = await serveMetrics(metrics, 0, '127.0.0.1');

    const scraped = await fetch(server.url);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await scraped.text()).toMatch(/^models_uploaded_total 2$/m);

    const other = await fetch(server.url.replace('/metrics', '/other'));
    expect(other.status).toBe(404);
    expect(await other.text()).toContain('GET /metrics');
  });

  it('lets the first observer of a shared handle answer a gauge, and ignores the others', async () => {
    metrics = startMetrics({ serviceName: 'hotswap', processMetrics: false });
    const stopFirst = observeGauge(metrics, 'distributionsActive', () => 3);
    const stopSecond = observeGauge(metrics, 'distributionsActive', () => 99);

    expect(await metrics.prometheusText()).toMatch(/^distributions_active_count 3$/m);
    stopSecond();
    expect(await metrics.prometheusText()).toMatch(/^distributions_active_count 3$/m);
    stopFirst();
    observeGauge(metrics, 'distributionsActive', () => 5);
    expect(await metrics.prometheusText()).toMatch(/^distributions_active_count 5$/m);
  });

  it('observes nothing without a metrics handle', () => {
    expect(observeGauge(undefined, 'devicesOnline', () => 1)()).toBeUndefined();
  });

  describe('GET /readyz', () => {
    it('answers 200 with every check while all are ready', async () => {
      metrics = startMetrics({ serviceName: 'distributor', processMetrics: false });
      const readiness = new Readiness();
      readiness.register('distributor.saturation', () => ({ ready: true }));
      server = await serveMetrics(metrics, 0, '127.0.0.1', { readiness });

      const response = await fetch(server.url.replace('/metrics', '/readyz'));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(await response.json()).toStrictEqual({ status: 'ready', checks: { 'distributor.saturation': { ready: true } } });
    });

    it('answers 503 with the reasons of the checks that are not ready, and a failing check counts as not ready', async () => {
      metrics = startMetrics({ serviceName: 'distributor', processMetrics: false });
      const readiness = new Readiness();
      readiness.register('distributor.saturation', () => ({ ready: false, reason: 'CPU 92% of 1 core over the last 30 s, above 80%' }));
      readiness.register('broken', () => {
        throw new Error('boom');
      });
      server = await serveMetrics(metrics, 0, '127.0.0.1', { readiness });

      const response = await fetch(server.url.replace('/metrics', '/readyz'));
      expect(response.status).toBe(503);
      expect(await response.json()).toStrictEqual({
        status: 'not ready',
        reason: 'CPU 92% of 1 core over the last 30 s, above 80%; broken check failed: boom',
        checks: {
          'distributor.saturation': { ready: false, reason: 'CPU 92% of 1 core over the last 30 s, above 80%' },
          broken: { ready: false, reason: 'broken check failed: boom' },
        },
      });
    });

    it('refuses a second check of the same name until the first is removed', () => {
      const readiness = new Readiness();
      const remove = readiness.register('a', () => ({ ready: true }));
      expect(() => readiness.register('a', () => ({ ready: true }))).toThrow(ReadinessCheckExistsError);
      remove();
      expect(() => readiness.register('a', () => ({ ready: false, reason: 'x' }))).not.toThrow();
      expect(readiness.report().status).toBe('not ready');
    });

    it('is not served without readiness checks', async () => {
      metrics = startMetrics({ serviceName: 'validator', processMetrics: false });
      server = await serveMetrics(metrics, 0, '127.0.0.1');
      expect((await fetch(server.url.replace('/metrics', '/readyz'))).status).toBe(404);
    });
  });

  it('counts the sockets its clients hold open', async () => {
    metrics = startMetrics({ serviceName: 'validator', processMetrics: false });
    let count: () => number = () => -1;
    server = await serveMetrics(metrics, 0, '127.0.0.1', { onServer: (s) => { count = countHttpConnections(s); } });
    metrics.observeConnections('http', () => count());
    const { Agent, request } = await import('node:http');
    const agent = new Agent({ keepAlive: true });
    const get = () => new Promise<string>((resolve, reject) => {
      request(server?.url ?? '', { agent }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
        response.on('end', () => resolve(body));
      }).on('error', reject).end();
    });

    expect(await get()).toMatch(/^process_open_connections\{connection_type="http"\} 1$/m);
    agent.destroy();
    await eventually(() => count(), (open) => open === 0);
  });
});

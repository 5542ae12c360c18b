import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  GaugeAlreadyObservedError,
  HISTOGRAM_BUCKETS_MS,
  metricsRequestListener,
  PROMETHEUS_CONTENT_TYPE,
  startMetrics,
  type MetricsOptions,
  type ServiceMetrics,
} from './metrics.js';
import { Counters, Gauges, Histograms } from './telemetry-names.js';

const MIB = 1024 ** 2;

/** The Prometheus line for a series, e.g. `models_uploaded_total 2`. */
function series(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`));
}

describe('service metrics', () => {
  const started: ServiceMetrics[] = [];
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];

  function start(options: Partial<MetricsOptions> = {}): ServiceMetrics {
    const metrics = startMetrics({
      serviceName: 'model-registry',
      processMetrics: false,
      logger: { warn: (message, fields) => warnings.push({ message, fields }) },
      ...options,
    });
    started.push(metrics);
    return metrics;
  }

  afterEach(async () => {
    await Promise.all(started.splice(0).map((metrics) => metrics.shutdown()));
    warnings.length = 0;
  });

  it('exposes counters under the spec names with dots as underscores and a single _total', async () => {
    const metrics = start();

    metrics.counters.modelsUploaded.add(1);
    metrics.counters.modelsUploaded.add(1);
    metrics.counters.distributionsFailed.add(1, { reason: 'rolled-back' });
    const text = await metrics.prometheusText();

    expect(series(text, 'models_uploaded_total')).toEqual(['models_uploaded_total 2']);
    expect(series(text, 'distributions_failed_total')).toEqual(['distributions_failed_total{reason="rolled-back"} 1']);
    expect(text).toContain('# TYPE models_uploaded_total counter');
    expect(text).not.toContain('_total_total');
  });

  it('declares every counter, histogram and gauge of the spec once', async () => {
    const metrics = start();
    for (const counter of Object.values(metrics.counters)) counter.add(1);
    for (const histogram of Object.values(metrics.histograms)) histogram.record(1);
    for (const key of Object.keys(Gauges) as (keyof typeof Gauges)[]) metrics.observe(key, () => 0);

    const text = await metrics.prometheusText();

    const prometheusName = (name: string) => name.replaceAll('.', '_');
    expect(Object.values(Counters).map(prometheusName)).toEqual([
      'models_uploaded_total',
      'distributions_created_total',
      'distributions_succeeded_total',
      'distributions_failed_total',
      'devices_updated_total',
    ]);
    for (const name of Object.values(Counters)) expect(text).toContain(`# TYPE ${prometheusName(name)} counter`);
    for (const name of Object.values(Histograms)) expect(text).toContain(`# TYPE ${prometheusName(name)} histogram`);
    for (const name of Object.values(Gauges)) expect(text).toContain(`# TYPE ${prometheusName(name)} gauge`);
    expect(text).toContain('# UNIT model_swap_duration ms');
    expect(series(text, 'target_info')[0]).toContain('service_name="model-registry"');
  });

  it('fills the histogram buckets cumulatively, with count and sum', async () => {
    const metrics = start();

    for (const ms of [3, 40, 700]) metrics.histograms.modelSwapDuration.record(ms);
    const text = await metrics.prometheusText();

    expect(series(text, 'model_swap_duration_bucket')).toEqual(
      [...HISTOGRAM_BUCKETS_MS.modelSwapDuration.map(String), '+Inf'].map((le) => {
        const count = le === '+Inf' ? 3 : [3, 40, 700].filter((ms) => ms <= Number(le)).length;
        return `model_swap_duration_bucket{le="${le}"} ${count}`;
      }),
    );
    expect(series(text, 'model_swap_duration_bucket')).toContain('model_swap_duration_bucket{le="5"} 1');
    expect(series(text, 'model_swap_duration_count')).toEqual(['model_swap_duration_count 3']);
    expect(series(text, 'model_swap_duration_sum')).toEqual(['model_swap_duration_sum 743']);
  });

  it.each(Object.entries(HISTOGRAM_BUCKETS_MS))('gives %s increasing bucket bounds', (_key, bounds) => {
    expect([...bounds].sort((a, b) => a - b)).toEqual(bounds);
    expect(new Set(bounds).size).toBe(bounds.length);
  });

  it('reads gauges from the registered callbacks at each scrape', async () => {
    const metrics = start();
    let online = 7;
    metrics.observe('devicesOnline', () => online);
    metrics.observe('devicesOffline', async () => [
      { value: 2, attributes: { region: 'eu-central-1' } },
      { value: 1, attributes: { region: 'us-west-1' } },
    ]);

    const first = await metrics.prometheusText();
    online = 5;
    const second = await metrics.prometheusText();

    expect(series(first, 'devices_online_count')).toEqual(['devices_online_count 7']);
    expect(series(second, 'devices_online_count')).toEqual(['devices_online_count 5']);
    expect(series(second, 'devices_offline_count')).toEqual([
      'devices_offline_count{region="eu-central-1"} 2',
      'devices_offline_count{region="us-west-1"} 1',
    ]);
  });

  it('refuses a second callback for a gauge until the first one stops', async () => {
    const metrics = start();
    const stop = metrics.observe('modelsActive', () => 3);

    expect(() => metrics.observe('modelsActive', () => 4)).toThrow(GaugeAlreadyObservedError);
    expect(() => metrics.observe('modelsActive', () => 4)).toThrow('gauge models.active.count already has a callback');
    stop();
    stop();
    const withoutCallback = await metrics.prometheusText();
    metrics.observe('modelsActive', () => 4);

    expect(series(withoutCallback, 'models_active_count')).toEqual([]);
    expect(series(await metrics.prometheusText(), 'models_active_count')).toEqual(['models_active_count 4']);
  });

  it('leaves out a gauge whose callback fails, says why, and serves the rest', async () => {
    const metrics = start();
    metrics.observe('distributionsActive', () => {
      throw new Error('read model unavailable');
    });
    metrics.observe('modelsActive', () => 1);

    const text = await metrics.prometheusText();

    expect(series(text, 'distributions_active_count')).toEqual([]);
    expect(series(text, 'models_active_count')).toEqual(['models_active_count 1']);
    expect(warnings).toEqual([
      { message: 'gauge callback failed', fields: { gauge: 'distributions.active.count', error: 'read model unavailable' } },
    ]);
  });

  it('observes process CPU, memory and the event loop under their OpenTelemetry semantic-convention names', async () => {
    // An injected sampler: 2 cores, 1.5 s of CPU time over 1 s of wall time, 300 of 1000 MiB.
    const readings = [
      { atMs: 0, cpuMs: 0, cpuCores: 2, memoryBytes: 100 * MIB, memoryLimitBytes: 1000 * MIB },
      { atMs: 1_000, cpuMs: 1_500, cpuCores: 2, memoryBytes: 300 * MIB, memoryLimitBytes: 1000 * MIB },
    ];
    const metrics = start({ processMetrics: true, resources: { read: () => readings.shift() ?? { atMs: 2_000, cpuMs: 1_500, cpuCores: 2, memoryBytes: 0, memoryLimitBytes: 1 } } });

    const text = await metrics.prometheusText();

    const value = (name: string) => Number(series(text, name)[0]?.split(' ')[1]);
    expect(value('process_cpu_utilization')).toBe(0.75);
    expect(value('process_memory_usage')).toBe(300 * MIB);
    expect(value('process_memory_utilization')).toBe(0.3);
    expect(value('nodejs_eventloop_delay_p99')).toBeGreaterThanOrEqual(0);
    expect(value('nodejs_eventloop_utilization')).toBeGreaterThanOrEqual(0);
    expect(value('nodejs_eventloop_utilization')).toBeLessThanOrEqual(1);
    expect(text).toContain('# UNIT nodejs_eventloop_delay_p99 s');
    expect(text).toContain('# UNIT process_memory_usage By');
  });

  it('reads this process by default: real CPU time, resident memory and a positive limit', async () => {
    const metrics = start({ processMetrics: true });

    await metrics.prometheusText();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const text = await metrics.prometheusText();

    const value = (name: string) => Number(series(text, name)[0]?.split(' ')[1]);
    expect(value('process_memory_usage')).toBeGreaterThan(10 * MIB);
    expect(value('process_memory_utilization')).toBeGreaterThan(0);
    expect(value('process_memory_utilization')).toBeLessThan(1);
    expect(value('process_cpu_utilization')).toBeGreaterThanOrEqual(0);
  });

  it('counts open connections per connection type, summing sources of one type, until a source stops', async () => {
    const metrics = start();
    expect(await metrics.prometheusText()).not.toContain('process_open_connections');

    metrics.observeConnections('nats', () => 1);
    const stopHttp = metrics.observeConnections('http', () => 3);
    metrics.observeConnections('http', () => 2);
    expect(series(await metrics.prometheusText(), 'process_open_connections').sort()).toEqual([
      'process_open_connections{connection_type="http"} 5',
      'process_open_connections{connection_type="nats"} 1',
    ]);

    stopHttp();
    expect(series(await metrics.prometheusText(), 'process_open_connections')).toContain('process_open_connections{connection_type="http"} 2');
  });

  it('leaves out a connection count that fails, says why, and serves the others', async () => {
    const metrics = start();
    metrics.observeConnections('postgresql', () => {
      throw new Error('pool ended');
    });
    metrics.observeConnections('nats', () => 1);

    expect(series(await metrics.prometheusText(), 'process_open_connections')).toEqual(['process_open_connections{connection_type="nats"} 1']);
    expect(warnings).toEqual([{ message: 'connection count failed', fields: { type: 'postgresql', error: 'pool ended' } }]);
  });

  it('leaves the process figures out when asked to', async () => {
    const text = await start({ processMetrics: false }).prometheusText();

    expect(text).not.toContain('process_');
  });

  it('feeds extra readers, e.g. an OTLP one, with the same instruments', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const metrics = start({ readers: [reader] });

    metrics.counters.devicesUpdated.add(4);
    await reader.forceFlush();

    const names = exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics.map((metric) => metric.descriptor.name)));
    expect(names).toContain('devices.updated.total');
  });

  it('keeps separate figures per handle', async () => {
    const a = start();
    const b = start();

    a.counters.modelsUploaded.add(1);

    expect(series(await b.prometheusText(), 'models_uploaded_total')).toEqual([]);
  });

  describe('GET /metrics', () => {
    async function serve(metrics: Pick<ServiceMetrics, 'prometheusText'>) {
      const server = createServer(metricsRequestListener(metrics));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${port}/metrics`, close: () => new Promise((r) => server.close(r)) };
    }

    it('answers the Prometheus text with its content type', async () => {
      const metrics = start();
      metrics.counters.distributionsCreated.add(1);
      const http = await serve(metrics);
      try {
        const response = await fetch(http.url);

        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
        expect(series(await response.text(), 'distributions_created_total')).toEqual(['distributions_created_total 1']);
      } finally {
        await http.close();
      }
    });

    it('answers 500 with the reason when collection fails (after shutdown)', async () => {
      const metrics = start();
      await metrics.shutdown();
      const http = await serve(metrics);
      try {
        const response = await fetch(http.url);

        expect(response.status).toBe(500);
        expect(await response.text()).toMatch(/^metrics collection failed: .+/);
      } finally {
        await http.close();
      }
    });
  });
});

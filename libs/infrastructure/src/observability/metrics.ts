import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Attributes, Counter, Histogram, Meter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { processResources, type ResourceSampler } from './process-resources.js';
import {
  CONNECTION_TYPE_ATTRIBUTE, Counters, Gauges, Histograms, ProcessGauges, type CounterKey, type GaugeKey, type HistogramKey,
} from './telemetry-names.js';

/** Instrumentation scope of every HotSwap instrument. */
export const METER_NAME = 'hotswap';

/** Content type of the Prometheus text exposition format served at `/metrics`. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const COUNTER_DESCRIPTIONS: Record<CounterKey, string> = {
  modelsUploaded: 'Models accepted by the registry',
  distributionsCreated: 'Distributions created',
  distributionsSucceeded: 'Distributions that reached Succeeded',
  distributionsFailed: 'Distributions that failed or were rolled back',
  devicesUpdated: 'Devices that activated a distributed model',
};

/**
 * Histogram bucket upper bounds in milliseconds, suited to each figure: an upload streams up to
 * gigabytes, validation runs inference benchmarks, a distribution can bake for hours, a hot swap
 * should take well under a second and one inference a few milliseconds.
 */
export const HISTOGRAM_BUCKETS_MS: Readonly<Record<HistogramKey, readonly number[]>> = {
  modelUploadDuration: [10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000],
  modelValidationDuration: [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000],
  distributionDuration: [1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 86_400_000],
  modelSwapDuration: [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000],
  inferenceLatency: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000],
};

const HISTOGRAM_DESCRIPTIONS: Record<HistogramKey, string> = {
  modelUploadDuration: 'Time to receive, hash and store an uploaded model',
  modelValidationDuration: 'Time to validate a model',
  distributionDuration: 'Time from a distribution starting to its end',
  modelSwapDuration: 'Time for a device to swap in a new model (load, warm up, switch)',
  inferenceLatency: 'Latency of one inference on a device',
};

const GAUGE_DESCRIPTIONS: Record<GaugeKey, string> = {
  modelsActive: 'Models active on at least one device',
  distributionsActive: 'Distributions in progress',
  devicesOnline: 'Devices online',
  devicesOffline: 'Devices offline',
};

/** A gauge's value: one number, or one value per attribute set (e.g. per region). */
export type GaugeObservation = number | readonly { readonly value: number; readonly attributes?: Attributes }[];
/** Called at each collection (each scrape of `/metrics`). */
export type GaugeCallback = () => GaugeObservation | Promise<GaugeObservation>;

export interface MetricsLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface MetricsOptions {
  /** `service.name` in `target_info`, e.g. `gateway`. */
  readonly serviceName: string;
  /** Observe the process's CPU, memory and event loop (default true). */
  readonly processMetrics?: boolean;
  /** Where the process figures come from (default `processResources()`: this process, its cgroup limits). */
  readonly resources?: ResourceSampler;
  /** More readers besides the Prometheus one, e.g. an OTLP `PeriodicExportingMetricReader`. */
  readonly readers?: readonly IMetricReader[];
  /** Told when a gauge callback fails (the gauge is then left out of that collection). */
  readonly logger?: MetricsLogger;
}

export interface ServiceMetrics {
  readonly serviceName: string;
  /** The spec's counters, e.g. `counters.modelsUploaded.add(1)`. */
  readonly counters: Readonly<Record<CounterKey, Counter>>;
  /** The spec's histograms, in milliseconds, e.g. `histograms.modelSwapDuration.record(97.9)`. */
  readonly histograms: Readonly<Record<HistogramKey, Histogram>>;
  /** For instruments beyond the spec's. */
  readonly meter: Meter;
  /**
   * Feeds a gauge from `callback`, one owner per gauge (the service whose read model knows the
   * figure). Returns the function that stops observing.
   * @throws GaugeAlreadyObservedError
   */
  observe(gauge: GaugeKey, callback: GaugeCallback): () => void;
  /**
   * Adds `count()` to `process.open_connections` as the series `connection.type=<type>` (e.g.
   * `nats`, `http`, `postgresql`); sources of one type add up. Returns the function that stops it.
   */
  observeConnections(type: string, count: () => number): () => void;
  /** Collects every instrument now and renders the Prometheus text exposition format. */
  prometheusText(): Promise<string>;
  /** Stops the readers and the process observers. */
  shutdown(): Promise<void>;
}

export class GaugeAlreadyObservedError extends Error {
  readonly code = 'CONFLICT';
  constructor(readonly gauge: string) {
    super(`gauge ${gauge} already has a callback; stop the first observer before registering another`);
    this.name = 'GaugeAlreadyObservedError';
  }
}

/**
 * The spec's instruments on a meter provider of their own (not registered globally, so that
 * tests and co-hosted services do not share state by accident; pass the handle to the services).
 * Prometheus text is produced on demand for the owner's own HTTP server (`metricsRequestListener`).
 */
export function startMetrics(options: MetricsOptions): ServiceMetrics {
  const logger = options.logger ?? { warn: (message, fields) => console.warn(message, fields ?? {}) };
  const prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  // Same settings as the exporter's own serializer: no scope labels, so series read `name value`.
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    readers: [prometheus, ...(options.readers ?? [])],
  });
  const meter = provider.getMeter(METER_NAME);

  const counters = mapKeys(Counters, (key, name) => meter.createCounter(name, { description: COUNTER_DESCRIPTIONS[key] }));
  const histograms = mapKeys(Histograms, (key, name) =>
    meter.createHistogram(name, {
      description: HISTOGRAM_DESCRIPTIONS[key],
      unit: 'ms',
      advice: { explicitBucketBoundaries: [...HISTOGRAM_BUCKETS_MS[key]] },
    }),
  );
  const gauges = mapKeys(Gauges, (key, name) => meter.createObservableGauge(name, { description: GAUGE_DESCRIPTIONS[key] }));
  const observed = new Map<GaugeKey, (result: ObservableResult) => Promise<void>>();
  const stopProcessMetrics = options.processMetrics === false ? () => undefined : observeProcess(meter, options.resources ?? processResources());
  const connections = new Set<{ readonly type: string; readonly count: () => number }>();
  let connectionsGauge: ObservableGauge | undefined;

  let stopped: Promise<void> | undefined;
  return {
    serviceName: options.serviceName,
    counters,
    histograms,
    meter,
    observe(key, callback) {
      if (observed.has(key)) throw new GaugeAlreadyObservedError(Gauges[key]);
      const observer = async (result: ObservableResult) => {
        let observation: GaugeObservation;
        try {
          observation = await callback();
        } catch (error) {
          logger.warn('gauge callback failed', { gauge: Gauges[key], error: error instanceof Error ? error.message : String(error) });
          return;
        }
        if (typeof observation === 'number') result.observe(observation);
        else for (const { value, attributes } of observation) result.observe(value, attributes);
      };
      observed.set(key, observer);
      gauges[key].addCallback(observer);
      return () => {
        if (observed.get(key) !== observer) return;
        gauges[key].removeCallback(observer);
        observed.delete(key);
      };
    },
    observeConnections(type, count) {
      // Created on first use, so a process that counts nothing serves no empty gauge.
      if (connectionsGauge === undefined) {
        connectionsGauge = meter.createObservableGauge(ProcessGauges.openConnections, { description: 'Open connections, per connection.type' });
        connectionsGauge.addCallback((result) => {
          const totals = new Map<string, number>();
          for (const source of connections) {
            try {
              totals.set(source.type, (totals.get(source.type) ?? 0) + source.count());
            } catch (error) {
              logger.warn('connection count failed', { type: source.type, error: error instanceof Error ? error.message : String(error) });
            }
          }
          for (const [type, total] of totals) result.observe(total, { [CONNECTION_TYPE_ATTRIBUTE]: type });
        });
      }
      const source = { type, count };
      connections.add(source);
      return () => {
        connections.delete(source);
      };
    },
    async prometheusText() {
      const { resourceMetrics, errors } = await prometheus.collect();
      for (const error of errors) logger.warn('metrics collection error', { error: error instanceof Error ? error.message : String(error) });
      return serializer.serialize(resourceMetrics);
    },
    shutdown() {
      stopped ??= (async () => {
        stopProcessMetrics();
        await provider.shutdown();
      })();
      return stopped;
    },
  };
}

/**
 * A Node `http` request listener answering with the Prometheus text (mount it at `GET /metrics`);
 * a failed collection answers 500 with the reason.
 */
export function metricsRequestListener(metrics: Pick<ServiceMetrics, 'prometheusText'>) {
  return (_request: IncomingMessage, response: ServerResponse): void => {
    metrics.prometheusText().then(
      (text) => {
        response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        response.end(text);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`metrics collection failed: ${error instanceof Error ? error.message : String(error)}`);
      },
    );
  };
}

function observeProcess(meter: Meter, resources: ResourceSampler): () => void {
  // Event-loop delay sampled every 10 ms; each collection reports the p99 since the previous one.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let last = resources.read();
  let lastLoop = performance.eventLoopUtilization();

  const cpu = meter.createObservableGauge(ProcessGauges.cpuUtilization, {
    description: 'CPU time since the previous collection over the wall time and the CPUs available to the process (cgroup quota, else cores)',
    unit: '1',
  });
  const memory = meter.createObservableGauge(ProcessGauges.memoryUsage, { description: 'Resident set size', unit: 'By' });
  const memoryShare = meter.createObservableGauge(ProcessGauges.memoryUtilization, {
    description: 'Resident set size over the memory the process may use (cgroup limit, else the machine\'s)',
    unit: '1',
  });
  const delay = meter.createObservableGauge(ProcessGauges.eventLoopDelayP99, { description: 'p99 event-loop delay since the previous collection', unit: 's' });
  const loop = meter.createObservableGauge(ProcessGauges.eventLoopUtilization, {
    description: 'Share of the time the event loop was busy since the previous collection',
    unit: '1',
  });
  const instruments = [cpu, memory, memoryShare, delay, loop];
  const batch = (observer: { observe(gauge: ObservableGauge, value: number): void }) => {
    const now = resources.read();
    const elapsedMs = now.atMs - last.atMs;
    if (elapsedMs > 0) observer.observe(cpu, (now.cpuMs - last.cpuMs) / elapsedMs / now.cpuCores);
    last = now;
    observer.observe(memory, now.memoryBytes);
    observer.observe(memoryShare, now.memoryBytes / now.memoryLimitBytes);
    // The histogram is in nanoseconds and reads 0 before its first sample.
    observer.observe(delay, loopDelay.count > 0 ? loopDelay.percentile(99) / 1e9 : 0);
    loopDelay.reset();
    const loopNow = performance.eventLoopUtilization();
    observer.observe(loop, performance.eventLoopUtilization(loopNow, lastLoop).utilization);
    lastLoop = loopNow;
  };
  meter.addBatchObservableCallback(batch, instruments);
  return () => {
    meter.removeBatchObservableCallback(batch, instruments);
    loopDelay.disable();
  };
}

function mapKeys<K extends string, V>(names: Readonly<Record<K, string>>, make: (key: K, name: string) => V): Record<K, V> {
  const out = {} as Record<K, V>;
  for (const key of Object.keys(names) as K[]) out[key] = make(key, names[key]);
  return out;
}

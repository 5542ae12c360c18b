/**
 * The spec's span, attribute and metric names, declared once. Services, tests and
 * docs/OBSERVABILITY.md use these names; nothing spells them out again.
 */

/** Span names (issue 6, "Tracing"). */
export const Spans = {
  modelUpload: 'model.upload',
  modelValidate: 'model.validate',
  distributionCreate: 'distribution.create',
  distributionExecute: 'distribution.execute',
  deviceUpdate: 'device.update',
  modelSwap: 'model.swap',
} as const;
export type SpanName = (typeof Spans)[keyof typeof Spans];

/** Span attribute keys. The model ones are the spec's; the others name the other aggregates. */
export const SpanAttributes = {
  modelId: 'model.id',
  modelVersion: 'model.version',
  modelChecksum: 'model.checksum',
  distributionId: 'distribution.id',
  deviceId: 'device.id',
} as const;

/** Counters; in Prometheus form the dots become underscores (`models_uploaded_total`). */
export const Counters = {
  modelsUploaded: 'models.uploaded.total',
  distributionsCreated: 'distributions.created.total',
  distributionsSucceeded: 'distributions.succeeded.total',
  distributionsFailed: 'distributions.failed.total',
  devicesUpdated: 'devices.updated.total',
} as const;
export type CounterKey = keyof typeof Counters;

/** Histograms, all in milliseconds. */
export const Histograms = {
  modelUploadDuration: 'model.upload.duration',
  modelValidationDuration: 'model.validation.duration',
  distributionDuration: 'distribution.duration',
  modelSwapDuration: 'model.swap.duration',
  inferenceLatency: 'inference.latency',
} as const;
export type HistogramKey = keyof typeof Histograms;

/** Gauges, observed through callbacks the owning service registers (`ServiceMetrics.observe`). */
export const Gauges = {
  modelsActive: 'models.active.count',
  distributionsActive: 'distributions.active.count',
  devicesOnline: 'devices.online.count',
  devicesOffline: 'devices.offline.count',
} as const;
export type GaugeKey = keyof typeof Gauges;

/** Process figures for the guardrails (issue 8). */
export const ProcessGauges = {
  /** Share of one CPU core used since the previous collection, 0..n (n cores). */
  cpuUtilization: 'process.cpu.utilization',
  /** Resident set size, bytes. */
  memoryRss: 'process.memory.rss',
  /** p99 event-loop delay since the previous collection, milliseconds. */
  eventLoopLag: 'process.event_loop.lag',
  /** Open connections (HTTP sockets, NATS...), as counted by the registered callback. */
  openConnections: 'process.open_connections',
} as const;

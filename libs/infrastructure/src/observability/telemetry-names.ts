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

/**
 * Process figures for the guardrails (issue 8), named as the OpenTelemetry semantic conventions
 * name them (process and Node.js runtime metrics), but for open connections, which they do not cover.
 */
export const ProcessGauges = {
  /** CPU time since the previous collection over the wall time and the CPUs available to the process (cgroup quota, else cores): 0..1. */
  cpuUtilization: 'process.cpu.utilization',
  /** Resident set size, bytes. */
  memoryUsage: 'process.memory.usage',
  /** Resident set size over the memory the process may use (cgroup limit, else the machine's): 0..1. */
  memoryUtilization: 'process.memory.utilization',
  /** p99 event-loop delay since the previous collection, seconds. */
  eventLoopDelayP99: 'nodejs.eventloop.delay.p99',
  /** Share of the time the event loop was busy since the previous collection: 0..1. */
  eventLoopUtilization: 'nodejs.eventloop.utilization',
  /** Open connections, one series per `connection.type` (`nats`, `http`, `postgresql`). */
  openConnections: 'process.open_connections',
} as const;

/** Attribute of `process.open_connections` (`connection_type` in Prometheus form). */
export const CONNECTION_TYPE_ATTRIBUTE = 'connection.type';

/** The distributor's guardrails: whether it is saturated, and how much of its rollout rate it uses. */
export const GuardrailGauges = {
  /** 1 while the distributor is saturated (CPU or memory over its limit), else 0. */
  saturated: 'distributor.saturated',
  /** Share of the normal request allowance the distributor uses now: 1 = full rate. */
  throttle: 'distributor.throttle',
} as const;

/** Device affinity (issue 8): how the devices spread over the distributor instances. */
export const AffinityGauges = {
  /** Devices this distributor instance has sent commands to since it started. */
  devicesDriven: 'distributor.devices.driven',
} as const;

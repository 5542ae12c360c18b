import type { NatsConnection } from '@nats-io/transport-node';
import type { ArtifactStore } from '../artifact-store/index.js';
import type { EventStore } from '../event-store/index.js';
import type { MessageBus } from '../messaging/index.js';
import type { SqlDatabase } from '../read-model/index.js';
import { createLogger, type Readiness, type ServiceMetrics } from '../observability/index.js';

export interface RuntimeLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Reads the time; injected everywhere so tests can compress or freeze it. */
export type Clock = () => Date;

/**
 * What every service is built from. The composition root (a service's own `main.ts`, the
 * embedded default, the e2e tests) creates it once and hands it to the service modules.
 */
export interface ServiceRuntime {
  readonly nats: NatsConnection;
  readonly bus: MessageBus;
  readonly eventStore: EventStore;
  /** The read-model database (PostgreSQL, or PGlite in the embedded default). */
  readonly db: SqlDatabase;
  readonly artifacts: ArtifactStore;
  readonly clock: Clock;
  readonly logger: RuntimeLogger;
  /**
   * Where the service records the spec's counters and histograms and registers its gauges; the
   * composition root creates it (one per process: the embedded control plane shares one with the
   * gateway's `/metrics`). Absent in tests that do not look at metrics.
   */
  readonly metrics?: ServiceMetrics;
  /**
   * Checks behind the service's `GET /readyz` (on its `METRICS_PORT` server), e.g. the distributor's
   * saturation. Absent where nothing serves them (the embedded default, most tests).
   */
  readonly readiness?: Readiness;
}

/** Nest injection token of the `ServiceRuntime`. */
export const SERVICE_RUNTIME = Symbol.for('hotswap.service-runtime');

/**
 * The service's structured logger: JSON lines (pino) with `service`, level, `trace_id` and
 * `span_id` of the active span. `quiet` writes only warnings and errors.
 */
export const consoleLogger = (service: string, quiet = false): RuntimeLogger =>
  createLogger(service, quiet ? { level: 'warn' } : {});

import type { NatsConnection } from '@nats-io/transport-node';
import type { ArtifactStore } from '../artifact-store/index.js';
import type { EventStore } from '../event-store/index.js';
import type { MessageBus } from '../messaging/index.js';
import type { SqlDatabase } from '../read-model/index.js';

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
}

/** Nest injection token of the `ServiceRuntime`. */
export const SERVICE_RUNTIME = Symbol.for('hotswap.service-runtime');

export const consoleLogger = (service: string, quiet = false): RuntimeLogger => {
  const line = (level: string, message: string, fields?: Record<string, unknown>) =>
    `${new Date().toISOString()} ${level} [${service}] ${message}${fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields) : ''}`;
  return {
    info: (m, f) => { if (!quiet) console.log(line('INFO', m, f)); },
    warn: (m, f) => console.warn(line('WARN', m, f)),
    error: (m, f) => console.error(line('ERROR', m, f)),
  };
};

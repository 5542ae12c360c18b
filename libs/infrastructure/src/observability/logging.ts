import type { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger } from 'pino';
import { activeTraceIds } from './tracing.js';

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The services' logger: a message and structured fields, one JSON object per line. */
export interface StructuredLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  /** Lowest level written (default `info`, or `LOG_LEVEL`). */
  readonly level?: LogLevelName;
  /** Where every line goes; default: debug/info on stdout, warn/error on stderr. */
  readonly destination?: Writable | DestinationStream;
  /** Fields on every line besides `service`, e.g. `{ device_id }`. */
  readonly base?: Record<string, unknown>;
}

const LEVELS: readonly LogLevelName[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * A pino logger writing one JSON object per line: `time` (ISO 8601), `level` (its name),
 * `service`, `message`, the fields, and `trace_id` / `span_id` of the active OTel span when
 * there is one, so a log line leads to its trace.
 */
export function createLogger(service: string, options: LoggerOptions = {}): StructuredLogger {
  const envLevel = process.env['LOG_LEVEL'] as LogLevelName | undefined;
  const level = options.level ?? (envLevel !== undefined && LEVELS.includes(envLevel) ? envLevel : 'info');
  const destination = options.destination ?? pino.multistream(
    [{ level: 'debug', stream: process.stdout }, { level: 'warn', stream: process.stderr }],
    { dedupe: true },
  );
  const logger: Logger = pino({
    level,
    base: { service, ...options.base },
    messageKey: 'message',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => activeTraceIds() ?? {},
  }, destination);
  const write = (method: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => {
    if (fields === undefined) logger[method](message);
    else logger[method](fields, message);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

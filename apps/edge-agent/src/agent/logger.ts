import { activeTraceIds } from '@hotswap/infrastructure';

/** The agent logs through this small interface so an embedding process can route it anywhere. */
export interface AgentLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * One JSON object per line on stderr, so stdout stays free for whatever embeds the agent; lines
 * logged inside a span (a swap) carry its `trace_id` and `span_id`.
 */
export function jsonLogger(base: Record<string, unknown> = {}, level: LogLevel = 'info'): AgentLogger {
  const write = (lvl: Exclude<LogLevel, 'silent'>) => (message: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < RANK[level]) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, ...base, message, ...fields, ...activeTraceIds() })}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

export const silentLogger: AgentLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The message of an unknown thrown value, with its causes. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error) && !(typeof err === 'object' && err !== null && 'message' in err)) return String(err);
  const e = err as Error;
  const cause = e.cause === undefined ? '' : `: ${describeError(e.cause)}`;
  return `${e.message}${cause}`;
}

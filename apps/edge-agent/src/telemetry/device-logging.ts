import type { DeviceLogLine } from '@hotswap/contracts';
import type { AgentLogger } from '../agent/logger.js';

export interface LogForwardingLimit {
  /** Lines forwarded per window at most; the rest are counted and the count rides on the next line. */
  readonly lines: number;
  readonly windowMs: number;
}

/** Enough for a burst of trouble, too few to flood the hub when a device loops on an error. */
export const DEFAULT_LOG_FORWARDING_LIMIT: LogForwardingLimit = { lines: 20, windowMs: 60_000 };

const MAX_MESSAGE = 2_000;
const MAX_FIELDS_JSON = 8_000;

/**
 * Wraps the agent's logger: every line is logged locally as before, and warnings and errors are
 * also sent to the control plane (`hotswap.device.<id>.log`, see `send`) for central logging,
 * rate-limited per window.
 */
export function forwardingLogger(
  local: AgentLogger,
  deviceId: string,
  send: (line: DeviceLogLine) => void,
  clock: () => Date,
  limit: LogForwardingLimit = DEFAULT_LOG_FORWARDING_LIMIT,
): AgentLogger {
  let windowStart = -Infinity;
  let sent = 0;
  let dropped = 0;
  const forward = (level: DeviceLogLine['level'], message: string, fields?: Record<string, unknown>) => {
    const now = clock();
    if (now.getTime() - windowStart >= limit.windowMs) {
      windowStart = now.getTime();
      sent = 0;
    }
    if (sent >= limit.lines) {
      dropped++;
      return;
    }
    sent++;
    const safeFields = jsonFields(fields);
    send({
      deviceId, level, message: message.slice(0, MAX_MESSAGE), at: now.toISOString(),
      ...(safeFields !== undefined ? { fields: safeFields } : {}),
      ...(dropped > 0 ? { dropped } : {}),
    });
    dropped = 0;
  };
  return {
    debug: (message, fields) => local.debug(message, fields),
    info: (message, fields) => local.info(message, fields),
    warn: (message, fields) => {
      local.warn(message, fields);
      forward('warn', message, fields);
    },
    error: (message, fields) => {
      local.error(message, fields);
      forward('error', message, fields);
    },
  };
}

/** Fields as plain JSON (undefined values dropped), or a note when they are too big to send. */
function jsonFields(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (fields === undefined) return undefined;
  let text: string;
  try {
    text = JSON.stringify(fields);
  } catch {
    return { note: 'fields not serializable' };
  }
  if (text === undefined || text === '{}') return undefined;
  return text.length > MAX_FIELDS_JSON ? { note: `fields truncated (${text.length} characters)` } : (JSON.parse(text) as Record<string, unknown>);
}

import type { NatsConnection } from '@nats-io/transport-node';

/** How long a drain may take before the connection is closed instead. */
export const DRAIN_TIMEOUT_MS = 2_000;

export type DrainOutcome = 'drained' | 'closed' | 'timed-out' | 'failed';

/**
 * Drains `nc` (pending messages are flushed, subscriptions finish their work), but closes it
 * instead when the drain does not finish within `timeoutMs`. A drain flushes through the server,
 * so on a connection that is reconnecting to a server that refuses it (expired credentials, a
 * server gone for good) it would wait forever and hang the shutdown.
 */
export async function drainOrClose(nc: NatsConnection, timeoutMs = DRAIN_TIMEOUT_MS): Promise<{ outcome: DrainOutcome; error?: unknown }> {
  if (nc.isClosed()) return { outcome: 'closed' };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ outcome: DrainOutcome }>((resolve) => {
    timer = setTimeout(() => resolve({ outcome: 'timed-out' }), timeoutMs);
  });
  const drained = nc.drain().then(
    () => ({ outcome: 'drained' as const }),
    (error: unknown) => ({ outcome: 'failed' as const, error }),
  );
  const result = await Promise.race([drained, deadline]);
  clearTimeout(timer);
  if (result.outcome !== 'drained' && !nc.isClosed()) await nc.close().catch(() => undefined);
  return result;
}

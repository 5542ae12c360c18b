import type { EventStore } from '../event-store/event-store.port.js';

/**
 * The `traceparent` recorded with the latest event of `types` in `stream` (all types when empty):
 * how a process that reacts to an event later (the validator to an upload, the distributor to a
 * validated model) continues the trace that produced it.
 */
export async function recordedTraceparent(store: EventStore, stream: string, types: readonly string[] = []): Promise<string | undefined> {
  const events = await store.readStream(stream);
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (types.length > 0 && !types.includes(event.type)) continue;
    const traceparent = event.metadata?.['traceparent'];
    if (typeof traceparent === 'string') return traceparent;
  }
  return undefined;
}

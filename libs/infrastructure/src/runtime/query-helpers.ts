import type { BusSubscription, MessageBus, ValidationResult } from '../messaging/index.js';

/** `{ id }` payloads of get-by-id queries. */
export function validateById(payload: unknown): ValidationResult<{ id: string }> {
  const id = (payload as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 200
    ? { ok: true, value: { id } }
    : { ok: false, reason: 'id must be a non-empty string of at most 200 characters' };
}

/** Answers the service's health query (`/readyz` of the gateway asks every service). */
export function serveHealth(bus: MessageBus, subject: string, queue: string): Promise<BusSubscription> {
  return bus.handle(subject, { queue, validate: (payload) => ({ ok: true, value: payload }), handler: () => ({ status: 'ok' }) });
}

/** Closes every subscription of a handler class on shutdown. */
export async function closeAll(subscriptions: readonly BusSubscription[]): Promise<void> {
  await Promise.all(subscriptions.map((s) => s.close()));
}

import { describe, expect, it } from '@jest/globals';
import type { EventStore, StoredEvent } from '../event-store/event-store.port.js';
import { recordedTraceparent } from './trace-lookup.js';

const TP = (n: number) => `00-0af7651916cd43dd8448eb211c80319c-00000000000000${String(n).padStart(2, '0')}-01`;

function storeWith(events: Array<Pick<StoredEvent, 'type' | 'metadata'>>): EventStore {
  return { readStream: async () => events as StoredEvent[] } as unknown as EventStore;
}

describe('the traceparent recorded with an event', () => {
  const store = storeWith([
    { type: 'ModelUploaded', metadata: { traceparent: TP(1) } },
    { type: 'ModelValidationStarted', metadata: { traceparent: TP(2) } },
    { type: 'ModelValidationStepRecorded', metadata: {} },
    { type: 'ModelValidationStarted', metadata: { traceparent: TP(3) } },
  ]);

  it('is the latest event of the types asked for', async () => {
    expect(await recordedTraceparent(store, 'model-a', ['ModelValidationStarted'])).toBe(TP(3));
    expect(await recordedTraceparent(store, 'model-a', ['ModelUploaded'])).toBe(TP(1));
  });

  it('is the latest event carrying one when no type is named', async () => {
    expect(await recordedTraceparent(storeWith([{ type: 'A', metadata: { traceparent: TP(4) } }, { type: 'B' }]), 's')).toBe(TP(4));
  });

  it('is undefined for an empty stream or events without one', async () => {
    expect(await recordedTraceparent(storeWith([]), 's')).toBeUndefined();
    expect(await recordedTraceparent(store, 's', ['ModelValidated'])).toBeUndefined();
  });
});

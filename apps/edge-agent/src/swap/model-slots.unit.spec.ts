import { describe, it, expect } from '@jest/globals';
import { ModelSlot, ModelSlots } from './model-slots.js';
import type { InstalledModel } from './model-store.js';
import type { SessionLease } from './session-cache.js';

/** A session lease whose runs finish when the test says so. */
function fakeSession() {
  const pending: Array<() => void> = [];
  let released = 0;
  const session = {
    session: { inputs: [], outputNames: [], run: () => new Promise((resolve) => pending.push(() => resolve({}))), release: async () => undefined },
    release: async () => {
      released++;
    },
  } as unknown as SessionLease;
  return { session, finishOne: () => pending.shift()?.(), releasedCount: () => released };
}

const model = (modelId: string) => ({ modelId, artifactPath: `/m/${modelId}`, release: {} }) as InstalledModel;
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('model slots', () => {
  it('moves the active pointer and returns the slot it replaced', () => {
    const slots = new ModelSlots();
    const a = new ModelSlot(model('a'), fakeSession().session);
    const b = new ModelSlot(model('b'), fakeSession().session);
    expect(slots.activate(a)).toBeUndefined();
    expect(slots.activate(b)).toBe(a);
    expect(slots.active?.modelId).toBe('b');
  });

  it('releases a retired session only after the grace period and its last in-flight run', async () => {
    const old = fakeSession();
    const slot = new ModelSlot(model('a'), old.session);
    const running = slot.run({});
    expect(slot.inFlight).toBe(1);
    const slots = new ModelSlots();
    slots.retire(slot, 0, (e) => {
      throw e;
    });
    await tick();
    expect(old.releasedCount()).toBe(0);
    old.finishOne();
    await running;
    await tick();
    expect(slot.inFlight).toBe(0);
    expect(old.releasedCount()).toBe(1);
  });

  it('waits for the grace period even when idle', async () => {
    const old = fakeSession();
    const slots = new ModelSlots();
    slots.retire(new ModelSlot(model('a'), old.session), 60_000, () => {});
    await tick();
    expect(old.releasedCount()).toBe(0);
    // close() cuts the grace short and releases it once.
    await slots.close();
    expect(old.releasedCount()).toBe(1);
  });

  it('close releases the active session once', async () => {
    const s = fakeSession();
    const slots = new ModelSlots();
    const slot = new ModelSlot(model('a'), s.session);
    slots.activate(slot);
    await slots.close();
    await slot.release();
    expect(s.releasedCount()).toBe(1);
    expect(slots.active).toBeUndefined();
  });
});

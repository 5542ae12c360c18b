import { describe, it, expect } from '@jest/globals';
import type { EdgeAgent } from '../agent/edge-agent.js';
import { SyntheticLoad } from './synthetic-load.js';

/** An agent that answers after `delayMs`, or fails when told. */
function fakeAgent(opts: { model?: boolean; fail?: boolean; delayMs?: number } = {}) {
  let calls = 0;
  const agent = {
    servedModel: () => (opts.model === false ? undefined : { modelId: 'm', name: 'm', version: '1', inputs: [{ name: 'x', isTensor: true, type: 'float32', shape: [1, 2] }] }),
    inferTensors: async () => {
      calls++;
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
      if (opts.fail) throw new Error('boom');
      return {};
    },
  } as unknown as EdgeAgent;
  return { agent, calls: () => calls };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('synthetic load', () => {
  it('runs about the configured rate on each device with a model, and skips devices without one', async () => {
    const busy = fakeAgent();
    const idle = fakeAgent({ model: false });
    const load = new SyntheticLoad([busy.agent, idle.agent], { ratePerSec: 100, tickMs: 10 });
    load.start();
    load.start();
    await wait(300);
    await load.stop();
    expect(busy.calls()).toBeGreaterThanOrEqual(15);
    expect(busy.calls()).toBeLessThanOrEqual(40);
    expect(idle.calls()).toBe(0);
    expect(load.counts.skipped).toBeGreaterThan(0);
    const after = busy.calls();
    await wait(50);
    expect(busy.calls()).toBe(after);
  });

  it('counts failures and bounds the inferences in flight per device', async () => {
    const slow = fakeAgent({ fail: true, delayMs: 200 });
    const load = new SyntheticLoad([slow.agent], { ratePerSec: 1000, tickMs: 10, maxInFlightPerDevice: 2 });
    load.start();
    await wait(100);
    expect(slow.calls()).toBe(2);
    await load.stop();
    expect(load.counts.failed).toBe(2);
  });

  it('does nothing at rate 0 and refuses a negative rate', async () => {
    const a = fakeAgent();
    const load = new SyntheticLoad([a.agent], { ratePerSec: 0 });
    load.start();
    await wait(30);
    await load.stop();
    expect(a.calls()).toBe(0);
    expect(() => new SyntheticLoad([], { ratePerSec: -1 })).toThrow('ratePerSec must be a number >= 0, got -1');
  });
});

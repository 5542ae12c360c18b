import { describe, expect, it } from '@jest/globals';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_POLL_INTERVAL_MS, streamTiming } from './distribution-event-stream.js';

describe('streamTiming', () => {
  it('polls every second and sends a heartbeat every 15 s unless told otherwise', () => {
    expect(streamTiming()).toEqual({ pollIntervalMs: DEFAULT_POLL_INTERVAL_MS, heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS });
    expect([DEFAULT_POLL_INTERVAL_MS, DEFAULT_HEARTBEAT_INTERVAL_MS]).toEqual([1_000, 15_000]);
    expect(streamTiming({ pollIntervalMs: 50 })).toEqual({ pollIntervalMs: 50, heartbeatIntervalMs: 15_000 });
  });

  it.each([
    [{ pollIntervalMs: 0 }, 'GatewayDeps.distributionEvents.pollIntervalMs must be at least 1 (ms), got 0'],
    [{ heartbeatIntervalMs: Number.NaN }, 'GatewayDeps.distributionEvents.heartbeatIntervalMs must be at least 1 (ms), got NaN'],
  ])('refuses %j naming the setting', (given, message) => {
    expect(() => streamTiming(given)).toThrow(new RangeError(message));
  });
});

import { describe, expect, it } from '@jest/globals';
import { InvalidCommandError } from '../errors.js';
import { directPlanner, nextDirect, planDirect } from './direct.js';
import type { RolloutPlan, TargetState } from './planner.js';

const now = '2025-03-01T10:00:00.000Z';
const plan: RolloutPlan = { strategy: 'Direct', waves: [['a', 'b']], alreadyRunning: [] };
const requested = (commandId: string): TargetState => ({ status: 'Requested', commandId, wave: 1, requestedAt: now });
const updated = (commandId: string): TargetState => ({ status: 'Updated', commandId, swapMs: 10, at: now });
const failed = (commandId: string): TargetState => ({ status: 'Failed', commandId, reason: 'x', at: now });
/** A situation as the decider builds it: counts over every target of the plan, missing ones Pending. */
const situation = (states: [string, TargetState][], waves: RolloutPlan['waves'] = plan.waves) => {
  const byDevice = new Map(states);
  const counts = { Pending: 0, Requested: 0, Updated: 0, Failed: 0 };
  for (const deviceId of waves.flat()) counts[byDevice.get(deviceId)?.status ?? 'Pending'] += 1;
  return { plan: { ...plan, waves }, counts, targetState: (deviceId: string) => byDevice.get(deviceId), now };
};

describe('direct planner', () => {
  describe('planning', () => {
    it('puts every target into one wave and reports those already running the model', () => {
      const fleet = {
        a: { status: 'Online' as const, currentModelId: 'det-2.0.0' },
        b: { status: 'Offline' as const, currentModelId: 'det-1.0.0' },
        c: { status: 'Online' as const },
        d: { status: 'Offline' as const, currentModelId: 'det-2.0.0' },
      };
      expect(planDirect({ modelId: 'det-2.0.0', targets: ['d', 'b', 'c', 'a', 'e'], fleet })).toStrictEqual({
        strategy: 'Direct', waves: [['d', 'b', 'c', 'a', 'e']], alreadyRunning: ['d', 'a'],
      });
    });

    it('does not mistake an Object.prototype member for a fleet device', () => {
      expect(planDirect({ modelId: 'det-2.0.0', targets: ['constructor'], fleet: {} }).alreadyRunning).toStrictEqual([]);
    });

    it('refuses an empty or repetitive target list', () => {
      expect(() => planDirect({ modelId: 'm', targets: [], fleet: {} })).toThrow(InvalidCommandError);
      expect(() => planDirect({ modelId: 'm', targets: ['a', 'a'], fleet: {} })).toThrow('direct rollout: target device a is listed more than once');
    });

    it('is registered as the Direct strategy', () => {
      expect(directPlanner.strategy).toBe('Direct');
      expect(directPlanner.plan).toBe(planDirect);
      expect(directPlanner.next).toBe(nextDirect);
    });
  });

  describe('next actions', () => {
    it('requests the whole wave while nothing was requested', () => {
      expect(nextDirect(situation([['a', { status: 'Pending' }]])))
        .toStrictEqual([{ type: 'RequestWave', wave: 1, deviceIds: ['a', 'b'] }]);
    });

    it('waits while a target has not answered', () => {
      expect(nextDirect(situation([['a', updated('1')], ['b', requested('2')]]))).toStrictEqual([]);
      expect(nextDirect(situation([['a', failed('1')], ['b', requested('2')]]))).toStrictEqual([]);
    });

    it('succeeds when every target is updated', () => {
      expect(nextDirect(situation([['a', updated('1')], ['b', updated('2')]]))).toStrictEqual([{ type: 'Succeed', updated: 2 }]);
    });

    it('fails when every target answered and some failed, naming at most ten of them', () => {
      const ids = Array.from({ length: 13 }, (_, i) => `d${i}`);
      const targets = ids.map((deviceId): [string, TargetState] => [deviceId, deviceId === 'd0' ? updated('c') : failed('c')]);
      expect(nextDirect(situation(targets, [ids]))).toStrictEqual([{
        type: 'Fail',
        reason: '12 of 13 targets failed to update: d1, d2, d3, d4, d5, d6, d7, d8, d9, d10 and 2 more',
        updated: 1,
        failed: 12,
      }]);
    });

    it('names only targets it knows to have failed', () => {
      const counts = { Pending: 0, Requested: 0, Updated: 1, Failed: 1 };
      const targetState = (deviceId: string) => (deviceId === 'b' ? failed('2') : undefined);
      expect(nextDirect({ plan, counts, targetState, now })).toStrictEqual([
        { type: 'Fail', reason: '1 of 2 targets failed to update: b', updated: 1, failed: 1 },
      ]);
    });
  });
});

import { describe, expect, it } from '@jest/globals';
import { hash32, hashRing, shares } from './hash-ring.js';

const devices = Array.from({ length: 10_000 }, (_, i) => `dev-${String(i).padStart(5, '0')}`);

describe('device affinity ring', () => {
  it('assigns every device to exactly one live instance, the same in every process', () => {
    const a = hashRing(['distributor-a', 'distributor-b', 'distributor-c']);
    const b = hashRing(['distributor-c', 'distributor-a', 'distributor-b', 'distributor-a']);
    for (const d of devices.slice(0, 500)) {
      expect(['distributor-a', 'distributor-b', 'distributor-c']).toContain(a.ownerOf(d));
      expect(b.ownerOf(d)).toBe(a.ownerOf(d));
    }
  });

  it('spreads devices evenly: each of 3 instances drives a third, within 15%', () => {
    const counts = shares(hashRing(['distributor-a', 'distributor-b', 'distributor-c']), devices);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan((devices.length / 3) * 0.85);
      expect(count).toBeLessThan((devices.length / 3) * 1.15);
    }
  });

  it('moves only the new instance\'s share when one is added, and only to it', () => {
    const before = hashRing(['distributor-a', 'distributor-b']);
    const after = hashRing(['distributor-a', 'distributor-b', 'distributor-c']);
    const moved = devices.filter((d) => before.ownerOf(d) !== after.ownerOf(d));
    expect(moved.every((d) => after.ownerOf(d) === 'distributor-c')).toBe(true);
    expect(moved.length).toBeGreaterThan(devices.length * 0.25);
    expect(moved.length).toBeLessThan(devices.length * 0.42);
  });

  it('moves only the removed instance\'s devices when one leaves', () => {
    const before = hashRing(['distributor-a', 'distributor-b', 'distributor-c']);
    const after = hashRing(['distributor-a', 'distributor-c']);
    for (const d of devices) {
      if (before.ownerOf(d) !== 'distributor-b') expect(after.ownerOf(d)).toBe(before.ownerOf(d));
      else expect(['distributor-a', 'distributor-c']).toContain(after.ownerOf(d));
    }
  });

  it('has no owner without members, and refuses a ring without points', () => {
    expect(hashRing([]).ownerOf('dev-1')).toBeUndefined();
    expect(() => hashRing(['a'], 0)).toThrow('virtualNodes must be a positive integer, got 0');
  });

  it('hashes short ids apart', () => {
    const hashes = new Set(devices.map(hash32));
    expect(hashes.size).toBeGreaterThan(devices.length - 5);
    expect(hash32('dev-1')).toBe(hash32('dev-1'));
  });
});

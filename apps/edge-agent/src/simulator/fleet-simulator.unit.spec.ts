import { describe, it, expect } from '@jest/globals';
import { defaultFleetSpecs } from './fleet-simulator.js';

describe('default simulated fleet', () => {
  it('has twelve devices dev-001 … dev-012', () => {
    const fleet = defaultFleetSpecs();
    expect(fleet.map((d) => d.deviceId)).toEqual(Array.from({ length: 12 }, (_, i) => `dev-${String(i + 1).padStart(3, '0')}`));
  });

  it('spreads devices round-robin over the three regions, each region holding every device type', () => {
    const fleet = defaultFleetSpecs();
    expect(fleet.slice(0, 4).map((d) => d.region)).toEqual(['us-west-1', 'us-east-1', 'eu-central-1', 'us-west-1']);
    for (const region of ['us-west-1', 'us-east-1', 'eu-central-1']) {
      const inRegion = fleet.filter((d) => d.region === region);
      expect(inRegion).toHaveLength(4);
      expect(new Set(inRegion.map((d) => d.deviceType))).toEqual(new Set(['edge-camera', 'edge-gateway', 'edge-sensor']));
    }
  });

  it('takes a count and an id prefix', () => {
    const fleet = defaultFleetSpecs(2, 'sim-x');
    expect(fleet.map((d) => d.deviceId)).toEqual(['sim-x-001', 'sim-x-002']);
    expect(fleet[0]).toMatchObject({ deviceType: 'edge-camera', capabilities: { cpuCores: 4, gpu: true } });
  });
});

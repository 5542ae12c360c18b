import { describe, expect, it } from '@jest/globals';
import type { DeviceView } from '@hotswap/contracts';
import { matchesFilter } from './plan-requests.js';

const device = (id: string, over: Partial<DeviceView> = {}, capabilities: Partial<DeviceView['capabilities']> = {}): DeviceView => ({
  id, deviceType: 'edge-camera', region: 'eu-west-1', tags: ['site-a'], currentModelId: null, status: 'Online', lastHeartbeat: null, lastSwapMs: null,
  ...over, capabilities: { cpuCores: 2, gpu: false, memoryMb: 2048, storageMb: 8000, ...capabilities },
});

describe('targetFilter matching', () => {
  it('targets the sites that reach the world only through NATS, counting a device that reports no transport as http', () => {
    const fleet = [device('leaf-1', {}, { transport: 'nats' }), device('dc-1', {}, { transport: 'http' }), device('old-1')];
    expect(fleet.filter((d) => matchesFilter(d, { capabilities: { transport: 'nats' } })).map((d) => d.id)).toEqual(['leaf-1']);
    expect(fleet.filter((d) => matchesFilter(d, { capabilities: { transport: 'http' } })).map((d) => d.id)).toEqual(['dc-1', 'old-1']);
  });

  it('needs every part of the filter: region, type, every tag and every capability', () => {
    const target = device('d-1', { tags: ['site-a', 'production'] }, { gpu: true, cpuCores: 8 });
    expect(matchesFilter(target, { region: 'eu-west-1', tags: ['site-a', 'production'], capabilities: { gpu: true, minCpuCores: 8 } })).toBe(true);
    expect(matchesFilter(target, { tags: ['site-a', 'lab'] })).toBe(false);
    expect(matchesFilter(target, { capabilities: { minCpuCores: 9 } })).toBe(false);
    expect(matchesFilter(target, { deviceType: 'edge-sensor' })).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { DistributionCreated, ExecutionPolicy } from '@hotswap/contracts';
import { distributionDecider, type CreateDistribution } from '../distribution/decide.js';
import { initialDistributionState } from '../distribution/distribution.js';
import { InvalidCommandError } from '../errors.js';
import { chooseArtifactTransport } from './artifact-transport.js';

const policy: ExecutionPolicy = {
  maxInFlight: 100, ratePerMinute: 0, rampFactor: 1, initialRatePerMinute: 1, deviceTimeoutMs: 60_000, maxRetries: 1,
  retryBackoffMs: 1_000, healthWindowMs: 10_000, minHealthSamples: 5, maxFailurePercentage: 0,
};

function create(transport: unknown): DistributionCreated {
  const command: CreateDistribution = {
    type: 'CreateDistribution',
    metadata: { now: '2026-11-28T10:00:00.000Z' },
    data: {
      distributionId: 'dist-t', rollbackPolicy: 'Automatic', transport: transport as CreateDistribution['data']['transport'],
      plan: {
        strategy: 'Direct', modelId: 'det-2.0.0', targets: ['d0'], knownRegions: ['eu'], protectedTags: [], execution: policy,
        fleet: { d0: { status: 'Online', region: 'eu', capabilities: { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 4096 } } },
      },
    },
  };
  return distributionDecider.decide(command, initialDistributionState())[0] as DistributionCreated;
}

describe('artifact transport choice', () => {
  it.each([
    [undefined, undefined, 'http'],
    ['auto', undefined, 'http'],
    ['auto', 'http', 'http'],
    ['auto', 'nats', 'nats'],
    [undefined, 'nats', 'nats'],
    ['http', 'nats', 'http'],
    ['nats', 'http', 'nats'],
    ['nats', undefined, 'nats'],
  ] as const)('requested %s with device capability %s gives %s', (requested, capability, expected) => {
    expect(chooseArtifactTransport(requested, capability)).toBe(expected);
  });

  it('refuses values outside the vocabularies, naming the field', () => {
    expect(() => chooseArtifactTransport('carrier-pigeon' as never, 'http')).toThrow(new InvalidCommandError('transport must be one of auto, http, nats, got "carrier-pigeon"'));
    expect(() => chooseArtifactTransport('auto', 'ftp' as never)).toThrow('capabilities.transport must be one of http, nats, got "ftp"');
  });

  it('a distribution records a forced transport and nothing for auto', () => {
    expect(create('nats').data.transport).toBe('nats');
    expect(create('http').data.transport).toBe('http');
    expect(create('auto').data).not.toHaveProperty('transport');
    expect(create(undefined).data).not.toHaveProperty('transport');
  });

  it('a distribution refuses an unknown transport, naming the field', () => {
    expect(() => create('ftp')).toThrow('distribution dist-t: transport must be one of auto, http, nats, got "ftp"');
  });
});

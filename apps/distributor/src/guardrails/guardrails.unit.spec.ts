import { describe, expect, it } from '@jest/globals';
import { DEFAULT_SATURATION_THRESHOLDS, InvalidCommandError } from '@hotswap/domain';
import { ConfigError, Readiness, type ServiceRuntime } from '@hotswap/infrastructure';
import { rolloutOptionsFromEnv } from '../distributor.config.js';
import { defaultDistributorOptions, type DistributorOptions } from '../distributor.options.js';
import { Guardrails, type GuardrailOptions } from './guardrails.js';

const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
const runtime = {
  logger: {
    info: (message: string, fields?: Record<string, unknown>) => logs.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    warn: (message: string, fields?: Record<string, unknown>) => logs.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    error: (message: string, fields?: Record<string, unknown>) => logs.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
  },
  readiness: new Readiness(),
} as unknown as ServiceRuntime;
const guardrails = (options: GuardrailOptions) => new Guardrails(runtime, {
  ...defaultDistributorOptions, artifactBaseUrl: 'http://127.0.0.1:8080', urlSigningSecret: 's', manifestPrivateKeyPem: '', guardrails: options,
} satisfies DistributorOptions);

describe('distributor guardrails configuration', () => {
  it('reads the limits from the environment, with the defaults of issue 8', () => {
    expect(rolloutOptionsFromEnv({}).guardrails).toStrictEqual({
      thresholds: { cpuShare: 0.8, memoryShare: 0.75, windowMs: 30_000, minThrottle: 0.1 }, sampleIntervalMs: 1_000,
    });
    expect(rolloutOptionsFromEnv({
      HOTSWAP_DISTRIBUTOR_MAX_CPU: '0.9', HOTSWAP_DISTRIBUTOR_MAX_MEMORY: '0.6', HOTSWAP_DISTRIBUTOR_CPU_WINDOW: 'PT1M',
      HOTSWAP_DISTRIBUTOR_CPU_CORES: '1', HOTSWAP_DISTRIBUTOR_MEMORY_LIMIT: '536870912', HOTSWAP_DISTRIBUTOR_MIN_THROTTLE: '0.2',
      HOTSWAP_DISTRIBUTOR_SAMPLE_INTERVAL: 'PT5S',
    }).guardrails).toStrictEqual({
      thresholds: { cpuShare: 0.9, memoryShare: 0.6, windowMs: 60_000, minThrottle: 0.2 }, sampleIntervalMs: 5_000, cpuCores: 1, memoryLimitBytes: 536_870_912,
    });
  });

  it('refuses bad limits, naming each variable', () => {
    const read = () => rolloutOptionsFromEnv({ HOTSWAP_DISTRIBUTOR_MAX_CPU: '80', HOTSWAP_DISTRIBUTOR_CPU_CORES: '-2', HOTSWAP_DISTRIBUTOR_MAX_MEMORY: 'lots' });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow([
      'invalid configuration:',
      '  HOTSWAP_DISTRIBUTOR_MAX_CPU: must be a share in (0, 1], e.g. 0.8 (got "80")',
      '  HOTSWAP_DISTRIBUTOR_MAX_MEMORY: must be a share in (0, 1], e.g. 0.8 (got "lots")',
      '  HOTSWAP_DISTRIBUTOR_CPU_CORES: must be a number > 0, e.g. 1.5 (got "-2")',
    ].join('\n'));
  });

  it('refuses thresholds and intervals passed in code that make no sense, naming them', () => {
    expect(() => guardrails({ thresholds: { hysteresis: 1 } })).toThrow(new InvalidCommandError('saturation thresholds: hysteresis must be in [0, 1), got 1'));
    expect(() => guardrails({ sampleIntervalMs: 0 })).toThrow('guardrails: sampleIntervalMs must be a number > 0, got 0');
  });

  it('keeps its assessment and says why when the sampler fails', () => {
    const failing = guardrails({ sampler: { read: () => { throw new Error('cgroup gone'); } } });
    expect(failing.sample()).toStrictEqual({ saturated: false, throttle: 1, cpuShare: null, memoryShare: null });
    expect(logs).toContainEqual({ level: 'warn', message: 'guardrails could not read the process resources', fields: { error: 'Error: cgroup gone' } });
  });

  it('measures this process by default', () => {
    const state = guardrails({ thresholds: { ...DEFAULT_SATURATION_THRESHOLDS } }).sample();
    expect(state.memoryShare).toBeGreaterThan(0);
    expect(state.memoryShare).toBeLessThan(1);
  });
});

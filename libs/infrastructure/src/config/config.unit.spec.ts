import { describe, expect, it } from '@jest/globals';
import {
  bool,
  ConfigError,
  defineConfig,
  describeConfig,
  int,
  isoDuration,
  list,
  loadConfig,
  oneOf,
  str,
  url,
  type Config,
} from './index.js';

const schema = defineConfig({
  natsUrl: { env: 'NATS_URL', default: 'nats://127.0.0.1:4222', parse: url, description: 'NATS server URL' },
  httpPort: { env: 'HTTP_PORT', default: '8080', parse: int({ min: 1, max: 65535 }), description: 'HTTP port' },
  heartbeatTimeoutMs: { env: 'HEARTBEAT_TIMEOUT', default: 'PT30S', parse: isoDuration, description: 'device silence before offline (ISO 8601)' },
  eventStore: { env: 'EVENT_STORE', default: 'jetstream', parse: oneOf(['jetstream', 'eventstoredb']), description: 'event store adapter' },
  simulate: { env: 'SIMULATE_DEVICES', default: 'false', parse: bool, description: 'start simulated devices' },
  eventStoreDbUrl: { env: 'EVENTSTOREDB_URL', optional: true, parse: url, description: 'EventStoreDB connection string' },
  signingSecret: { env: 'ARTIFACT_URL_SECRET', secret: true, parse: str, description: 'HMAC key for signed artifact URLs' },
});

describe('loadConfig', () => {
  it('parses every variable into its typed value', () => {
    const config = loadConfig(schema, {
      NATS_URL: 'nats://nats:4222',
      HTTP_PORT: '3000',
      HEARTBEAT_TIMEOUT: 'PT1M',
      EVENT_STORE: 'eventstoredb',
      SIMULATE_DEVICES: 'yes',
      EVENTSTOREDB_URL: 'esdb://localhost:2113?tls=false',
      ARTIFACT_URL_SECRET: 's3cret',
    });
    expect(config).toEqual({
      natsUrl: 'nats://nats:4222',
      httpPort: 3000,
      heartbeatTimeoutMs: 60_000,
      eventStore: 'eventstoredb',
      simulate: true,
      eventStoreDbUrl: 'esdb://localhost:2113?tls=false',
      signingSecret: 's3cret',
    });
  });

  it('uses defaults for unset or empty variables and undefined for unset optional ones', () => {
    const config: Config<typeof schema> = loadConfig(schema, { ARTIFACT_URL_SECRET: 'x', HTTP_PORT: '' });
    expect(config).toEqual({
      natsUrl: 'nats://127.0.0.1:4222',
      httpPort: 8080,
      heartbeatTimeoutMs: 30_000,
      eventStore: 'jetstream',
      simulate: false,
      eventStoreDbUrl: undefined,
      signingSecret: 'x',
    });
    // Types follow the parsers: these assignments only compile if they do.
    const port: number = config.httpPort;
    const adapter: 'jetstream' | 'eventstoredb' = config.eventStore;
    const esdb: string | undefined = config.eventStoreDbUrl;
    expect([port, adapter, esdb]).toEqual([8080, 'jetstream', undefined]);
  });

  it('reports every problem at once, one line per variable, hiding secret values', () => {
    const error = (() => {
      try {
        loadConfig(schema, {
          NATS_URL: 'not a url',
          HTTP_PORT: '70000',
          HEARTBEAT_TIMEOUT: '30s',
          EVENT_STORE: 'kafka',
          SIMULATE_DEVICES: 'maybe',
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      [
        'invalid configuration:',
        '  NATS_URL: must be an absolute URL such as nats://127.0.0.1:4222 (got "not a url")',
        '  HTTP_PORT: must be at most 65535 (got "70000")',
        '  HEARTBEAT_TIMEOUT: value is not an ISO 8601 duration such as PT15M, PT0.5S or P1D (got "30s")',
        '  EVENT_STORE: must be one of jetstream, eventstoredb (got "kafka")',
        '  SIMULATE_DEVICES: must be one of true, false, 1, 0, yes, no, on, off (got "maybe")',
        '  ARTIFACT_URL_SECRET: missing (HMAC key for signed artifact URLs)',
      ].join('\n'),
    );
    expect((error as ConfigError).problems.map((p) => p.env)).toEqual([
      'NATS_URL',
      'HTTP_PORT',
      'HEARTBEAT_TIMEOUT',
      'EVENT_STORE',
      'SIMULATE_DEVICES',
      'ARTIFACT_URL_SECRET',
    ]);
  });

  it('never prints the value of a secret variable', () => {
    const secretSchema = defineConfig({
      password: { env: 'DB_PASSWORD', secret: true, parse: int(), description: 'numeric PIN' },
    });
    expect(() => loadConfig(secretSchema, { DB_PASSWORD: 'hunter2' })).toThrow(
      new ConfigError([{ env: 'DB_PASSWORD', problem: 'must be an integer' }]),
    );
  });

  it('says when an invalid value is the default', () => {
    const broken = defineConfig({ port: { env: 'PORT', default: 'eighty', parse: int(), description: 'port' } });
    expect(() => loadConfig(broken, {})).toThrow('  PORT: must be an integer (got "eighty", the default)');
  });

  it('reads process.env by default', () => {
    const key = `HOTSWAP_TEST_${process.pid}`;
    process.env[key] = '42';
    try {
      expect(loadConfig(defineConfig({ n: { env: key, parse: int(), description: 'n' } }))).toEqual({ n: 42 });
    } finally {
      delete process.env[key];
    }
  });
});

describe('describeConfig', () => {
  it('lists each variable with its default or whether it is required', () => {
    const lines = describeConfig(schema).split('\n');
    expect(lines[0]).toBe('NATS_URL (default nats://127.0.0.1:4222): NATS server URL');
    expect(lines).toContain('EVENTSTOREDB_URL (optional): EventStoreDB connection string');
    expect(lines).toContain('ARTIFACT_URL_SECRET (required): HMAC key for signed artifact URLs');
    expect(describeConfig({ s: { env: 'S', default: 'x', secret: true, parse: str, description: 'd' } })).toBe(
      'S (default (hidden)): d',
    );
  });
});

describe('parsers', () => {
  it('list splits on commas, trims, and drops empty values', () => {
    expect(list(' a, b ,,c, ')).toEqual(['a', 'b', 'c']);
    expect(list(',')).toEqual([]);
  });

  it('int accepts integers within bounds and refuses the rest precisely', () => {
    const port = int({ min: 1, max: 10 });
    expect(port(' 7 ')).toBe(7);
    expect(int()('-3')).toBe(-3);
    expect(() => port('0')).toThrow('must be at least 1');
    expect(() => port('11')).toThrow('must be at most 10');
    for (const bad of ['1.5', '1e3', '', 'abc', '0x10', '99999999999999999999']) {
      expect(() => port(bad)).toThrow('must be an integer');
    }
  });

  it('bool accepts the usual spellings in any case', () => {
    expect(['TRUE', '1', 'Yes', 'on'].map(bool)).toEqual([true, true, true, true]);
    expect(['false', '0', 'NO', 'Off'].map(bool)).toEqual([false, false, false, false]);
    expect(() => bool('y')).toThrow('must be one of true, false, 1, 0, yes, no, on, off');
  });

  it('url accepts absolute URLs only', () => {
    expect(url('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://postgres@127.0.0.1:5432/test');
    expect(() => url('127.0.0.1:4222x')).toThrow('must be an absolute URL');
    expect(() => url('/relative')).toThrow('must be an absolute URL');
  });

  it('oneOf accepts only the listed values, exactly', () => {
    const level = oneOf(['debug', 'info']);
    expect(level('info')).toBe('info');
    expect(() => level('INFO')).toThrow('must be one of debug, info');
  });

  it('str returns the value as given', () => {
    expect(str('  spaced ')).toBe('  spaced ');
  });
});

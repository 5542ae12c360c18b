import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPair, pinnedPublicKeys } from '@hotswap/infrastructure';
import { silentLogger } from '../agent/logger.js';
import { agentOptionsFromConfig, loadEdgeAgentConfig } from './agent-config.js';

const { publicKeyPem } = generateSigningKeyPair();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('edge agent configuration', () => {
  it('needs only a device id and the manifest key; the rest has documented defaults', () => {
    const config = loadEdgeAgentConfig({ HOTSWAP_DEVICE_ID: 'dev-001', HOTSWAP_MANIFEST_PUBLIC_KEY: publicKeyPem });
    const options = agentOptionsFromConfig(config, silentLogger);
    expect(options).toMatchObject({
      deviceId: 'dev-001',
      deviceType: 'edge-gateway',
      region: 'local',
      tags: [],
      natsServers: ['nats://127.0.0.1:4222'],
      natsOptions: {},
      dataDir: join('.hotswap', 'devices', 'dev-001'),
      manifestPublicKeyPem: publicKeyPem,
      heartbeatIntervalMs: 5000,
      telemetryIntervalMs: 5000,
      graceMs: 2000,
      warmupRuns: 3,
      downloadRetries: 5,
      diskReserveBytes: 0,
      inferenceHost: '127.0.0.1',
    });
    expect(options).not.toHaveProperty('inferencePort');
    expect(options.capabilities).toMatchObject({ gpu: false, storageMb: 10240 });
  });

  it('reads every variable, a key file path, ISO durations and NATS credentials', async () => {
    const keyPath = join(dir, 'manifest.pub');
    await writeFile(keyPath, publicKeyPem);
    const config = loadEdgeAgentConfig({
      HOTSWAP_DEVICE_ID: 'cam_7',
      HOTSWAP_DEVICE_TYPE: 'edge-camera',
      HOTSWAP_REGION: 'eu-central-1',
      HOTSWAP_DEVICE_TAGS: 'a, b,,c',
      HOTSWAP_CPU_CORES: '4',
      HOTSWAP_GPU: 'yes',
      HOTSWAP_MEMORY_MB: '2048',
      HOTSWAP_STORAGE_MB: '4096',
      NATS_URL: 'nats://a:4222, nats://b:4222',
      NATS_USER: 'u',
      NATS_PASS: 'p',
      HOTSWAP_DATA_DIR: '/var/lib/hotswap',
      HOTSWAP_MANIFEST_PUBLIC_KEY: keyPath,
      HOTSWAP_HEARTBEAT_INTERVAL: 'PT0.5S',
      HOTSWAP_TELEMETRY_INTERVAL: 'PT1M',
      HOTSWAP_SWAP_GRACE: 'PT0S',
      HOTSWAP_WARMUP_RUNS: '0',
      HOTSWAP_DOWNLOAD_RETRIES: '9',
      HOTSWAP_DISK_RESERVE_MB: '2',
      HOTSWAP_INFERENCE_PORT: '8700',
      HOTSWAP_INFERENCE_HOST: '0.0.0.0',
      HOTSWAP_LOG_LEVEL: 'debug',
    });
    const options = agentOptionsFromConfig(config, silentLogger);
    expect(options).toMatchObject({
      deviceId: 'cam_7',
      deviceType: 'edge-camera',
      region: 'eu-central-1',
      tags: ['a', 'b', 'c'],
      capabilities: { cpuCores: 4, gpu: true, memoryMb: 2048, storageMb: 4096 },
      natsServers: ['nats://a:4222', 'nats://b:4222'],
      natsOptions: { user: 'u', pass: 'p' },
      dataDir: '/var/lib/hotswap',
      heartbeatIntervalMs: 500,
      telemetryIntervalMs: 60_000,
      graceMs: 0,
      warmupRuns: 0,
      downloadRetries: 9,
      diskReserveBytes: 2 * 2 ** 20,
      inferencePort: 8700,
      inferenceHost: '0.0.0.0',
    });
    expect(options.manifestPublicKeyPem).toBe(publicKeyPem);
    expect(config.logLevel).toBe('debug');
  });

  it('accepts a token, and a creds file as the renewable credentials', async () => {
    const creds = join(dir, 'device.creds');
    await writeFile(creds, 'creds');
    const options = agentOptionsFromConfig(
      loadEdgeAgentConfig({ HOTSWAP_DEVICE_ID: 'd', HOTSWAP_MANIFEST_PUBLIC_KEY: publicKeyPem, NATS_TOKEN: 't', NATS_CREDS: creds }),
      silentLogger,
    );
    expect(options.natsOptions).toEqual({ token: 't' });
    expect(options.credentials).toBe('creds');
  });

  it('refuses to start with every problem listed at once', () => {
    expect(() =>
      loadEdgeAgentConfig({
        HOTSWAP_DEVICE_ID: 'has.dot',
        HOTSWAP_MANIFEST_PUBLIC_KEY: '/no/such/key.pem',
        NATS_URL: 'not a url',
        HOTSWAP_HEARTBEAT_INTERVAL: '5s',
        HOTSWAP_CPU_CORES: '0',
        NATS_CREDS: '/no/such.creds',
      }),
    ).toThrow(
      /HOTSWAP_DEVICE_ID: must match .*\n.*HOTSWAP_CPU_CORES: must be at least 1.*\n.*NATS_URL: must be an absolute URL.*\n.*NATS_CREDS: cannot read credentials file \/no\/such\.creds.*\n.*HOTSWAP_MANIFEST_PUBLIC_KEY: cannot read public key file \/no\/such\/key\.pem.*\n.*HOTSWAP_HEARTBEAT_INTERVAL: /,
    );
  });

  it('pins every key of a bundle file (the old and the new signing key while it rotates), and names a bad one', async () => {
    const next = generateSigningKeyPair();
    const bundlePath = join(dir, 'manifest-bundle.pub');
    await writeFile(bundlePath, `${publicKeyPem}${next.publicKeyPem}`);
    const options = agentOptionsFromConfig(loadEdgeAgentConfig({ HOTSWAP_DEVICE_ID: 'dev-002', HOTSWAP_MANIFEST_PUBLIC_KEY: bundlePath }), silentLogger);
    expect(pinnedPublicKeys(options.manifestPublicKeyPem).map((k) => k.export({ type: 'spki', format: 'pem' }).toString())).toEqual([publicKeyPem, next.publicKeyPem]);
    await writeFile(bundlePath, `${publicKeyPem}-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n`);
    expect(() => loadEdgeAgentConfig({ HOTSWAP_DEVICE_ID: 'dev-002', HOTSWAP_MANIFEST_PUBLIC_KEY: bundlePath })).toThrow(/HOTSWAP_MANIFEST_PUBLIC_KEY: .*pinned key 2 of 2: the public key is not a valid PEM key/);
  });

  it('refuses a missing device id and a key that is not Ed25519', () => {
    expect(() => loadEdgeAgentConfig({ HOTSWAP_MANIFEST_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----' })).toThrow(
      /HOTSWAP_DEVICE_ID: missing[\s\S]*HOTSWAP_MANIFEST_PUBLIC_KEY: must be Ed25519 public key\(s\) in PEM form/,
    );
  });
});

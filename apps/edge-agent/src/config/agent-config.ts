/**
 * The edge agent's environment variables, validated once at start-up (DESIGN "Time and
 * configuration"): every bad value is reported together and the agent refuses to start.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { DEVICE_ID_PATTERN } from '@hotswap/contracts';
import {
  assertManifestPublicKey,
  bool,
  ConfigValueError,
  defineConfig,
  int,
  isoDuration,
  list,
  loadConfig,
  oneOf,
  str,
  url,
  type Config,
} from '@hotswap/infrastructure';
import type { EdgeAgentOptions } from '../agent/edge-agent-options.js';
import type { AgentLogger, LogLevel } from '../agent/logger.js';

function deviceId(raw: string): string {
  if (!DEVICE_ID_PATTERN.test(raw)) throw new ConfigValueError(`must match ${DEVICE_ID_PATTERN.source}`);
  return raw;
}

function urlList(raw: string): string[] {
  const urls = list(raw);
  if (urls.length === 0) throw new ConfigValueError('must name at least one server');
  return urls.map(url);
}

function readable(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigValueError(`cannot read ${what} file ${path}: ${(err as Error).message}`);
  }
}

/** A PEM text, or the path of a file holding one; several PEM blocks pin several keys (rotation). */
function publicKeyPem(raw: string): string {
  const pem = raw.includes('-----BEGIN') ? raw.replace(/\\n/g, '\n') : readable('public key', raw.trim()).toString('utf8');
  try {
    assertManifestPublicKey(pem);
  } catch (err) {
    throw new ConfigValueError(`must be Ed25519 public key(s) in PEM form, or the path of a file of them (${(err as Error).message})`);
  }
  return pem;
}

export const edgeAgentConfigSchema = defineConfig({
  deviceId: { env: 'HOTSWAP_DEVICE_ID', parse: deviceId, description: 'this device id: letters, digits, "_" and "-"' },
  deviceType: { env: 'HOTSWAP_DEVICE_TYPE', default: 'edge-gateway', parse: str, description: 'device type announced at registration' },
  region: { env: 'HOTSWAP_REGION', default: 'local', parse: str, description: 'region announced at registration' },
  tags: { env: 'HOTSWAP_DEVICE_TAGS', default: '', parse: list, description: 'comma-separated tags announced at registration' },
  cpuCores: { env: 'HOTSWAP_CPU_CORES', default: String(availableParallelism()), parse: int({ min: 1, max: 1024 }), description: 'CPU cores announced' },
  gpu: { env: 'HOTSWAP_GPU', default: 'false', parse: bool, description: 'whether the device has a GPU' },
  memoryMb: { env: 'HOTSWAP_MEMORY_MB', default: String(Math.floor(totalmem() / 2 ** 20)), parse: int({ min: 1 }), description: 'memory announced, in MiB' },
  storageMb: { env: 'HOTSWAP_STORAGE_MB', default: '10240', parse: int({ min: 1 }), description: 'model storage announced, in MiB' },
  natsServers: { env: 'NATS_URL', default: 'nats://127.0.0.1:4222', parse: urlList, description: 'NATS server URL(s), comma-separated (a leaf node in production)' },
  natsUser: { env: 'NATS_USER', optional: true, parse: str, description: 'NATS user name' },
  natsPass: { env: 'NATS_PASS', optional: true, secret: true, parse: str, description: 'NATS password' },
  natsToken: { env: 'NATS_TOKEN', optional: true, secret: true, parse: str, description: 'NATS token' },
  natsCreds: { env: 'NATS_CREDS', optional: true, parse: (raw: string) => readable('credentials', raw), description: 'path of a NATS .creds file (device JWT + seed); short-lived ones are renewed and kept in the data dir' },
  dataDir: { env: 'HOTSWAP_DATA_DIR', optional: true, parse: str, description: 'models and state directory; default .hotswap/devices/<deviceId>' },
  manifestPublicKeyPem: {
    env: 'HOTSWAP_MANIFEST_PUBLIC_KEY',
    parse: publicKeyPem,
    description: 'pinned Ed25519 public key(s) (PEM text or path) release manifests must be signed with; several PEM blocks while the signing key rotates',
  },
  heartbeatIntervalMs: { env: 'HOTSWAP_HEARTBEAT_INTERVAL', default: 'PT5S', parse: isoDuration, description: 'interval between heartbeats (ISO 8601 duration)' },
  telemetryIntervalMs: { env: 'HOTSWAP_TELEMETRY_INTERVAL', default: 'PT5S', parse: isoDuration, description: 'telemetry window length (ISO 8601 duration)' },
  graceMs: { env: 'HOTSWAP_SWAP_GRACE', default: 'PT2S', parse: isoDuration, description: 'how long a replaced session stays loaded (ISO 8601 duration)' },
  warmupRuns: { env: 'HOTSWAP_WARMUP_RUNS', default: '3', parse: int({ min: 0, max: 1000 }), description: 'warm-up inferences before a new model takes traffic' },
  transport: { env: 'HOTSWAP_ARTIFACT_TRANSPORT', default: 'http', parse: oneOf(['http', 'nats']), description: 'how the device receives artifacts: http (download URL) or nats (chunks over its own NATS subjects, for sites with no HTTP route)' },
  natsChunkBytes: { env: 'HOTSWAP_NATS_CHUNK_BYTES', default: String(256 * 1024), parse: int({ min: 1024, max: 64 * 1024 * 1024 }), description: 'bytes per chunk of the NATS transport' },
  natsChunkWindow: { env: 'HOTSWAP_NATS_CHUNK_WINDOW', default: '4', parse: int({ min: 1, max: 64 }), description: 'chunk requests in flight on the NATS transport (flow control)' },
  downloadRetries: { env: 'HOTSWAP_DOWNLOAD_RETRIES', default: '5', parse: int({ min: 0, max: 100 }), description: 'download retries after the first attempt' },
  diskReserveMb: { env: 'HOTSWAP_DISK_RESERVE_MB', default: '0', parse: int({ min: 0 }), description: 'MiB a download must leave free on the data directory\'s file system' },
  inferencePort: { env: 'HOTSWAP_INFERENCE_PORT', optional: true, parse: int({ min: 0, max: 65535 }), description: 'local port of POST /infer (0: any free port; unset: no server)' },
  inferenceHost: { env: 'HOTSWAP_INFERENCE_HOST', default: '127.0.0.1', parse: str, description: 'address POST /infer listens on' },
  logLevel: { env: 'HOTSWAP_LOG_LEVEL', default: 'info', parse: oneOf(['debug', 'info', 'warn', 'error', 'silent']), description: 'log level' },
});

export type EdgeAgentConfig = Config<typeof edgeAgentConfigSchema>;

/** @throws ConfigError listing every missing or invalid variable. */
export function loadEdgeAgentConfig(env: Readonly<Record<string, string | undefined>> = process.env): EdgeAgentConfig {
  return loadConfig(edgeAgentConfigSchema, env);
}

export function agentOptionsFromConfig(config: EdgeAgentConfig, logger: AgentLogger): EdgeAgentOptions {
  return {
    deviceId: config.deviceId,
    deviceType: config.deviceType,
    region: config.region,
    tags: config.tags,
    capabilities: { cpuCores: config.cpuCores, gpu: config.gpu, memoryMb: config.memoryMb, storageMb: config.storageMb, transport: config.transport },
    natsServers: config.natsServers,
    natsOptions: {
      ...(config.natsUser !== undefined ? { user: config.natsUser, pass: config.natsPass } : {}),
      ...(config.natsToken !== undefined ? { token: config.natsToken } : {}),
    },
    ...(config.natsCreds !== undefined ? { credentials: config.natsCreds.toString('utf8') } : {}),
    dataDir: config.dataDir ?? join('.hotswap', 'devices', config.deviceId),
    manifestPublicKeyPem: config.manifestPublicKeyPem,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    telemetryIntervalMs: config.telemetryIntervalMs,
    graceMs: config.graceMs,
    warmupRuns: config.warmupRuns,
    downloadRetries: config.downloadRetries,
    natsChunkBytes: config.natsChunkBytes,
    natsChunkWindow: config.natsChunkWindow,
    diskReserveBytes: config.diskReserveMb * 2 ** 20,
    ...(config.inferencePort !== undefined ? { inferencePort: config.inferencePort } : {}),
    inferenceHost: config.inferenceHost,
    logger,
  };
}

export type { LogLevel };

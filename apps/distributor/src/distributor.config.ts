import { bool, ConfigValueError, defineConfig, int, isoDuration, list, loadConfig, readConfigFile, str, url } from '@hotswap/infrastructure';
import { DEFAULT_EXECUTION_POLICY, type DistributorOptions } from './distributor.options.js';

/** How rollouts run: what the embedded default reads from the environment too. */
export const rolloutConfig = defineConfig({
  tickIntervalMs: { env: 'HOTSWAP_DISTRIBUTOR_TICK', default: 'PT1S', parse: isoDuration, description: 'how often each owned distribution is advanced' },
  ownershipLeaseMs: { env: 'HOTSWAP_OWNERSHIP_LEASE', default: 'PT5S', parse: isoDuration, description: 'a distribution whose owner has not renewed its claim this long is taken over' },
  instanceId: { env: 'HOTSWAP_INSTANCE_ID', optional: true, parse: str, description: 'this instance in ownership claims (default: host, pid and a random suffix)' },
  protectedTags: {
    env: 'HOTSWAP_APPROVAL_TAGS', default: 'production', parse: list,
    description: 'comma-separated device tags whose waves wait for an operator\'s approval (empty: none)',
  },
  requireValidation: { env: 'HOTSWAP_REQUIRE_VALIDATION', default: 'true', parse: bool, description: 'distribute only Validated models (409 otherwise)' },
  maxInFlight: { env: 'HOTSWAP_MAX_IN_FLIGHT', default: '1000', parse: int({ min: 1 }), description: 'default execution.maxInFlight' },
  ratePerMinute: { env: 'HOTSWAP_ROLLOUT_RATE_PER_MINUTE', default: '0', parse: int({ min: 0 }), description: 'default execution.ratePerMinute (0: no limit)' },
  deviceTimeoutMs: { env: 'HOTSWAP_DEVICE_TIMEOUT', default: 'PT5M', parse: isoDuration, description: 'default execution.deviceTimeout' },
  maxRetries: { env: 'HOTSWAP_MAX_RETRIES', default: '2', parse: int({ min: 0, max: 10 }), description: 'default execution.maxRetries' },
  retryBackoffMs: { env: 'HOTSWAP_RETRY_BACKOFF', default: 'PT10S', parse: isoDuration, description: 'default execution.retryBackoff' },
  healthWindowMs: { env: 'HOTSWAP_HEALTH_WINDOW', default: 'PT30S', parse: isoDuration, description: 'default execution.healthWindow' },
  minHealthSamples: { env: 'HOTSWAP_MIN_HEALTH_SAMPLES', default: '10', parse: int({ min: 0 }), description: 'default execution.minHealthSamples' },
  maxCpuShare: { env: 'HOTSWAP_DISTRIBUTOR_MAX_CPU', default: '0.8', parse: share, description: 'saturated above this share of its CPUs, averaged over HOTSWAP_DISTRIBUTOR_CPU_WINDOW (0-1]' },
  maxMemoryShare: { env: 'HOTSWAP_DISTRIBUTOR_MAX_MEMORY', default: '0.75', parse: share, description: 'saturated above this share of its memory limit (0-1]' },
  cpuWindowMs: { env: 'HOTSWAP_DISTRIBUTOR_CPU_WINDOW', default: 'PT30S', parse: isoDuration, description: 'the CPU share is averaged over this long (sustained load, not bursts)' },
  cpuCores: { env: 'HOTSWAP_DISTRIBUTOR_CPU_CORES', optional: true, parse: positive, description: 'CPUs the CPU share is measured against (default: the cgroup quota, else the machine\'s cores)' },
  memoryLimitBytes: { env: 'HOTSWAP_DISTRIBUTOR_MEMORY_LIMIT', optional: true, parse: int({ min: 1 }), description: 'memory limit in bytes (default: the cgroup memory.max, else the machine\'s memory)' },
  minThrottle: { env: 'HOTSWAP_DISTRIBUTOR_MIN_THROTTLE', default: '0.1', parse: share, description: 'a saturated distributor keeps at least this share of its rollout rate (0-1]' },
  sampleIntervalMs: { env: 'HOTSWAP_DISTRIBUTOR_SAMPLE_INTERVAL', default: 'PT1S', parse: isoDuration, description: 'how often the guardrails sample CPU and memory' },
});

function share(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || value > 1) throw new ConfigValueError('must be a share in (0, 1], e.g. 0.8');
  return value;
}

function positive(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) throw new ConfigValueError('must be a number > 0, e.g. 1.5');
  return value;
}

export const distributorConfig = defineConfig({
  ...rolloutConfig,
  artifactBaseUrl: { env: 'HOTSWAP_ARTIFACT_BASE_URL', parse: url, description: 'base URL devices download artifacts from (the gateway)' },
  urlSigningSecret: { env: 'HOTSWAP_URL_SIGNING_SECRET', parse: str, secret: true, description: 'HMAC key of download URLs, shared with the gateway' },
  manifestPrivateKeyPem: { env: 'HOTSWAP_MANIFEST_PRIVATE_KEY_FILE', parse: (path) => readConfigFile(path, 'the manifest signing key'), description: 'Ed25519 private key (PEM file) signing release manifests' },
  urlTtlMs: { env: 'HOTSWAP_DOWNLOAD_URL_TTL', default: 'PT1H', parse: isoDuration, description: 'how long a download URL stays valid' },
  manifestTtlMs: { env: 'HOTSWAP_MANIFEST_TTL', default: 'P7D', parse: isoDuration, description: 'how long a signed release manifest stays valid' },
  presignArtifactUrls: {
    env: 'HOTSWAP_PRESIGN_ARTIFACT_URLS', default: 'true', parse: bool,
    description: 'hand devices presigned object-store URLs when the artifact store can presign (S3); false: gateway URLs',
  },
});

type RolloutValues = ReturnType<typeof loadConfig<typeof rolloutConfig>>;

function rolloutOptions(values: RolloutValues): Partial<DistributorOptions> {
  const {
    instanceId, maxInFlight, ratePerMinute, deviceTimeoutMs, maxRetries, retryBackoffMs, healthWindowMs, minHealthSamples,
    maxCpuShare, maxMemoryShare, cpuWindowMs, cpuCores, memoryLimitBytes, minThrottle, sampleIntervalMs, ...rest
  } = values;
  return {
    ...rest,
    ...(instanceId !== undefined ? { instanceId } : {}),
    guardrails: {
      thresholds: { cpuShare: maxCpuShare, memoryShare: maxMemoryShare, windowMs: cpuWindowMs, minThrottle },
      sampleIntervalMs,
      ...(cpuCores !== undefined ? { cpuCores } : {}),
      ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}),
    },
    executionDefaults: {
      ...DEFAULT_EXECUTION_POLICY, maxInFlight, ratePerMinute, initialRatePerMinute: ratePerMinute || DEFAULT_EXECUTION_POLICY.initialRatePerMinute,
      deviceTimeoutMs, maxRetries, retryBackoffMs, healthWindowMs, minHealthSamples,
    },
  };
}

/** How rollouts run, from the environment (the embedded default passes the rest itself). */
export function rolloutOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<DistributorOptions> {
  return rolloutOptions(loadConfig(rolloutConfig, env));
}

/** Every option of the distributor as its own process. */
export function distributorOptionsFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const { artifactBaseUrl, urlSigningSecret, manifestPrivateKeyPem, urlTtlMs, manifestTtlMs, presignArtifactUrls, ...rollout } = loadConfig(distributorConfig, env);
  return { artifactBaseUrl, urlSigningSecret, manifestPrivateKeyPem, urlTtlMs, manifestTtlMs, presignArtifactUrls, ...rolloutOptions(rollout) };
}

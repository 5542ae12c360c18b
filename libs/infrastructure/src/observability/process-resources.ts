import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * One reading of the process's resources (the shape of `@hotswap/domain`'s `ResourceReading`).
 * CPU time is cumulative: a share over a window is the difference of two readings over their time.
 */
export interface ProcessResourceReading {
  /** Monotonic time of the reading, ms (`performance.now()`). */
  readonly atMs: number;
  /** CPU time (user + system) used by the process since it started, ms. */
  readonly cpuMs: number;
  /** CPUs the process may use: configured, else its cgroup's quota, else the machine's cores. */
  readonly cpuCores: number;
  /** Resident set size, bytes. */
  readonly memoryBytes: number;
  /** Memory the process may use: configured, else its cgroup's limit, else the machine's memory. */
  readonly memoryLimitBytes: number;
}

/** Takes readings of the process's resources; injected, so guardrail tests can feed their own. */
export interface ResourceSampler {
  read(): ProcessResourceReading;
}

export interface ProcessResourceOptions {
  /** CPUs to measure the CPU share against (e.g. 1 for the event-loop thread's core). */
  readonly cpuCores?: number;
  /** The memory limit, bytes. */
  readonly memoryLimitBytes?: number;
  /** Root of the cgroup file system (tests point it at a folder of their own). */
  readonly cgroupRoot?: string;
}

export interface CgroupLimits {
  /** CPU quota in cores (`cpu.max` quota / period), absent when unlimited or unknown. */
  readonly cpuCores?: number;
  /** `memory.max` in bytes, absent when unlimited or unknown. */
  readonly memoryBytes?: number;
}

/** Above this a cgroup v1 memory limit means "no limit" (the kernel writes the page-rounded 2^63 - 1). */
const V1_UNLIMITED_BYTES = 2 ** 60;

/**
 * The process's cgroup limits, read once: cgroup v2 (`cpu.max`, `memory.max`, in the process's own
 * group from `/proc/self/cgroup`, else at the root as a container sees it), else cgroup v1
 * (`cpu.cfs_quota_us` / `cpu.cfs_period_us`, `memory.limit_in_bytes`). Missing or unreadable files
 * mean no limit.
 */
export function cgroupLimits(root = '/sys/fs/cgroup', selfCgroup = '/proc/self/cgroup'): CgroupLimits {
  const own = read(selfCgroup)?.split('\n').find((line) => line.startsWith('0::'))?.slice(3).trim();
  const dirs = [...(own !== undefined && own !== '/' ? [`${root}${own}`] : []), root];
  const v2 = (file: string) => dirs.map((dir) => read(`${dir}/${file}`)).find((text) => text !== undefined);
  const limits: { cpuCores?: number; memoryBytes?: number } = {};
  const cpuMax = v2('cpu.max');
  if (cpuMax !== undefined) {
    const [quota, period] = cpuMax.split(/\s+/);
    if (quota !== 'max' && Number(quota) > 0 && Number(period) > 0) limits.cpuCores = Number(quota) / Number(period);
  } else {
    const quota = Number(read(`${root}/cpu/cpu.cfs_quota_us`));
    const period = Number(read(`${root}/cpu/cpu.cfs_period_us`));
    if (quota > 0 && period > 0) limits.cpuCores = quota / period;
  }
  const memoryMax = v2('memory.max');
  if (memoryMax !== undefined) {
    if (memoryMax !== 'max' && Number(memoryMax) > 0) limits.memoryBytes = Number(memoryMax);
  } else {
    const limit = Number(read(`${root}/memory/memory.limit_in_bytes`));
    if (limit > 0 && limit < V1_UNLIMITED_BYTES) limits.memoryBytes = limit;
  }
  return limits;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Reads this process: `process.cpuUsage()` (user + system, all threads), the RSS, and the limits
 * (configured, else cgroup, else machine; the limits are read once).
 */
export function processResources(options: ProcessResourceOptions = {}): ResourceSampler {
  const cgroup = options.cpuCores !== undefined && options.memoryLimitBytes !== undefined ? {} : cgroupLimits(options.cgroupRoot);
  const cpuCores = options.cpuCores ?? cgroup.cpuCores ?? availableParallelism();
  // A cgroup limit above the machine's memory is no limit at all.
  const memoryLimitBytes = options.memoryLimitBytes ?? Math.min(cgroup.memoryBytes ?? Number.POSITIVE_INFINITY, totalmem());
  for (const [name, value] of [['cpuCores', cpuCores], ['memoryLimitBytes', memoryLimitBytes]] as const) {
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`processResources: ${name} must be a number > 0, got ${String(value)}`);
  }
  return {
    read: () => {
      const { user, system } = process.cpuUsage();
      return { atMs: performance.now(), cpuMs: (user + system) / 1_000, cpuCores, memoryBytes: process.memoryUsage.rss(), memoryLimitBytes };
    },
  };
}

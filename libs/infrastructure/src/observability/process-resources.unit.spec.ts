import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { cgroupLimits, processResources } from './process-resources.js';

describe('process resources', () => {
  const dirs: string[] = [];
  /** A fake cgroup file system with `files` (path → content) and a /proc/self/cgroup naming `own`. */
  function cgroup(files: Record<string, string>, own = '/'): { root: string; self: string } {
    const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
    dirs.push(root);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), `${content}\n`);
    }
    const self = join(root, 'self-cgroup');
    writeFileSync(self, `0::${own}\n`);
    return { root: join(root, 'fs'), self };
  }

  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reads cgroup v2 limits from the process own group: cpu.max quota over period, memory.max', () => {
    const { root, self } = cgroup({ 'fs/app.slice/cpu.max': '150000 100000', 'fs/app.slice/memory.max': '536870912', 'fs/memory.max': '1' }, '/app.slice');
    expect(cgroupLimits(root, self)).toStrictEqual({ cpuCores: 1.5, memoryBytes: 512 * 1024 ** 2 });
  });

  it('reads cgroup v2 limits at the root, as a container sees them, and "max" as no limit', () => {
    const { root, self } = cgroup({ 'fs/cpu.max': 'max 100000', 'fs/memory.max': 'max' });
    expect(cgroupLimits(root, self)).toStrictEqual({});
  });

  it('falls back to cgroup v1, where -1 and the huge default mean no limit', () => {
    const limited = cgroup({ 'fs/cpu/cpu.cfs_quota_us': '50000', 'fs/cpu/cpu.cfs_period_us': '100000', 'fs/memory/memory.limit_in_bytes': '268435456' });
    expect(cgroupLimits(limited.root, limited.self)).toStrictEqual({ cpuCores: 0.5, memoryBytes: 256 * 1024 ** 2 });
    const unlimited = cgroup({ 'fs/cpu/cpu.cfs_quota_us': '-1', 'fs/cpu/cpu.cfs_period_us': '100000', 'fs/memory/memory.limit_in_bytes': '9223372036854771712' });
    expect(cgroupLimits(unlimited.root, unlimited.self)).toStrictEqual({});
  });

  it('without cgroup files, measures against the machine: its cores and its memory', () => {
    const { root } = cgroup({});
    const reading = processResources({ cgroupRoot: root }).read();
    expect(reading.cpuCores).toBe(availableParallelism());
    expect(reading.memoryLimitBytes).toBe(totalmem());
  });

  it('prefers configured limits, and reads cumulative CPU time, RSS and a monotonic time', () => {
    const sampler = processResources({ cpuCores: 1, memoryLimitBytes: 4 * 1024 ** 3 });
    const first = sampler.read();
    let spin = 0;
    for (const end = Date.now() + 20; Date.now() < end;) spin += 1;
    const second = sampler.read();
    expect(spin).toBeGreaterThan(0);
    expect(second).toMatchObject({ cpuCores: 1, memoryLimitBytes: 4 * 1024 ** 3 });
    expect(second.atMs - first.atMs).toBeGreaterThanOrEqual(19);
    expect(second.cpuMs - first.cpuMs).toBeGreaterThan(5);
    expect(second.memoryBytes).toBeGreaterThan(10 * 1024 ** 2);
  });

  it('refuses a limit that is not a positive number, naming it', () => {
    expect(() => processResources({ cpuCores: 0, memoryLimitBytes: 1 })).toThrow('processResources: cpuCores must be a number > 0, got 0');
    expect(() => processResources({ cpuCores: 1, memoryLimitBytes: Number.NaN })).toThrow('processResources: memoryLimitBytes must be a number > 0, got NaN');
  });
});

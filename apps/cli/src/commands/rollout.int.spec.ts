import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DistributionPlanView, DistributionStatusView, ModelView } from '@hotswap/contracts';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { models } from './models.js';
import { parseStages, rollout } from './rollout.js';
import { startCliHarness, type CliHarness } from './testing/cli-harness.js';

// The rollout commands against a real control plane. The devices are registered through the API
// but never connect, so a distribution commands them and waits: enough for plans, statuses and verbs.

let h: CliHarness;
const DEVICES = ['ro-1', 'ro-2', 'ro-3', 'ro-4'];

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${h.controlPlane.url}${path}`, {
    ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${h.env['HOTSWAP_TOKEN']}`, ...init.headers },
  });
  return (await res.json()) as T;
}

beforeAll(async () => {
  h = await startCliHarness();
  for (const [i, id] of DEVICES.entries()) {
    await api('/api/v1/devices', {
      method: 'POST',
      body: JSON.stringify({ id, deviceType: 'edge-camera', region: i < 2 ? 'us-west-1' : 'eu-central-1', capabilities: { cpuCores: 2, gpu: false, memoryMb: 1024, storageMb: 4096 } }),
    });
  }
  const file = join(h.dir, 'ro.onnx');
  await writeFile(file, makeAddModel({ addend: 1 }));
  expect((await h.run(models, ['push', file, '--name', 'ro', '--version', '1.0.0'])).code).toBe(0);
  const deadline = Date.now() + 20_000;
  while ((await api<ModelView>('/api/v1/models/ro-1.0.0')).status !== 'Validated') {
    if (Date.now() > deadline) throw new Error('ro-1.0.0 was not validated');
    await new Promise((r) => setTimeout(r, 100));
  }
  while ((await api<{ total: number }>('/api/v1/devices?limit=1')).total < DEVICES.length) await new Promise((r) => setTimeout(r, 100));
}, 90_000);

afterAll(async () => {
  await h?.close();
}, 30_000);

describe('hotswap rollout', () => {
  it('shows the waves of a dry run from flags, recording nothing', async () => {
    const run = await h.run(rollout, ['create', '--model', 'ro-1.0.0', '--strategy', 'Canary', '--devices', DEVICES.join(','), '--canary-percentage', '25', '--canary-duration', 'PT1H', '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Canary of ro-1.0.0: 4 devices in 2 waves (nothing recorded)');
    expect(run.stdout).toMatch(/1 +canary +ro-1\.0\.0 +1 +3600 s +- +ro-1/);
    const json = JSON.parse((await h.run(rollout, ['create', '--model', 'ro-1.0.0', '--strategy', 'RegionalRollout', '--region', 'us-west-1', '--regions', 'us-west-1', '--delay', 'PT0S', '--dry-run', '--json'])).stdout) as DistributionPlanView;
    expect(json.waves.map((w) => [w.name, w.deviceIds])).toEqual([['us-west-1', ['ro-1', 'ro-2']]]);
    expect((await api<{ total: number }>('/api/v1/distributions')).total).toBe(0);
  });

  it('creates a progressive rollout from a spec file, shows it, and pauses, resumes and cancels it', async () => {
    const spec = join(h.dir, 'progressive.json');
    await writeFile(spec, JSON.stringify({
      modelId: 'ro-1.0.0', strategy: 'ProgressiveRollout', targetDevices: DEVICES, autoProgress: false,
      stages: [{ percentage: 50, duration: 'PT1M' }, { percentage: 100, duration: 'PT1M' }],
    }));
    const created = await h.run(rollout, ['create', '--file', spec, '--json']);
    expect(created.code).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };
    // The distributor opens the first wave on its next tick.
    const deadline = Date.now() + 10_000;
    while ((JSON.parse((await h.run(rollout, ['status', id, '--json'])).stdout) as DistributionStatusView).waves[0]?.status !== 'Running') {
      if (Date.now() > deadline) throw new Error('the first stage did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const shown = await h.run(rollout, ['status', id]);
    expect(shown.stdout).toMatch(/status: +Running/);
    expect(shown.stdout).toMatch(/1 +stage-1 +ro-1\.0\.0 +Running +\[\.+\] 0\/2/);
    expect((await h.run(rollout, ['pause', id, '--reason', 'lunch'])).stdout).toBe(`distribution ${id} Paused (stage stage-1)\n`);
    expect((await h.run(rollout, ['resume', id])).stdout).toMatch(/Running/);
    expect((await h.run(rollout, ['list'])).stdout).toMatch(new RegExp(`${id} +ro-1\\.0\\.0 +ProgressiveRollout +Running +4`));
    const refused = await h.run(rollout, ['approve', id]);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('error: 409') });
    expect((await h.run(rollout, ['cancel', id])).stdout).toMatch(/Cancelled/);
    // Watching a finished distribution prints it once and exits non-zero: it did not succeed.
    const watched = await h.run(rollout, ['watch', id, '--interval', '50']);
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(/status: +Cancelled/);
    const history = (JSON.parse((await h.run(rollout, ['status', id, '--json'])).stdout) as DistributionStatusView).history.map((e) => e.action);
    expect(history).toEqual(['created', 'paused', 'resumed', 'cancelled']);
  });

  it('refuses bad input with a clear message and a non-zero exit', async () => {
    expect(await h.run(rollout, ['create', '--model', 'ro-1.0.0', '--strategy', 'ProgressiveRollout', '--devices', 'ro-1', '--stages', '50-PT1M']))
      .toMatchObject({ code: 2, stderr: expect.stringContaining('--stages takes percent:duration pairs') });
    expect(await h.run(rollout, ['create', '--model', 'ro-1.0.0', '--strategy', 'Sideways', '--devices', 'ro-1']))
      .toMatchObject({ code: 1, stderr: expect.stringContaining('strategy must be one of Direct') });
    expect(await h.run(rollout, ['create', '--model', 'ro-1.0.0', '--strategy', 'Canary', '--devices', 'ro-1,ro-2', '--canary-percentage', '150', '--canary-duration', 'PT1M']))
      .toMatchObject({ code: 1, stderr: expect.stringContaining('canaryPercentage') });
    expect(await h.run(rollout, ['create', '--file', join(h.dir, 'missing.json')])).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read') });
    expect(await h.run(rollout, ['create', '--model', 'ro-1.0.0'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--strategy') });
    expect(await h.run(rollout, ['status', 'dist-nope'])).toMatchObject({ code: 1, stderr: expect.stringContaining('error: 404') });
    expect(await h.run(rollout, ['explode'])).toMatchObject({ code: 2 });
  });

  it('reads stage lists', () => {
    expect(parseStages('10:PT5M,100:PT0S')).toEqual([{ percentage: 10, duration: 'PT5M' }, { percentage: 100, duration: 'PT0S' }]);
  });
});

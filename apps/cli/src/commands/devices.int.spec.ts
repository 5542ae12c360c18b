import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DeviceView, Page } from '@hotswap/contracts';
import { devices } from './devices.js';
import { startCliHarness, type CliHarness } from './testing/cli-harness.js';

let h: CliHarness;

async function register(id: string, deviceType: string, region: string, tags: string[]): Promise<void> {
  const res = await fetch(`${h.controlPlane.url}/api/v1/devices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${h.env['HOTSWAP_TOKEN']}` },
    body: JSON.stringify({ id, deviceType, region, tags, capabilities: { cpuCores: 4, gpu: id === 'cam-1', memoryMb: 2048, storageMb: 8192 } }),
  });
  if (res.status !== 201) throw new Error(`registering ${id}: ${res.status} ${await res.text()}`);
}

beforeAll(async () => {
  h = await startCliHarness();
  await register('cam-1', 'edge-camera', 'us-west-1', ['lobby', 'cli']);
  await register('gw-1', 'edge-gateway', 'eu-central-1', ['cli']);
  // Registration is projected asynchronously into the fleet read model.
  const deadline = Date.now() + 20_000;
  while ((JSON.parse((await h.run(devices, ['list', '--tag', 'cli', '--json'])).stdout) as Page<DeviceView>).total !== 2) {
    if (Date.now() > deadline) throw new Error('devices did not appear');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 30_000);

describe('hotswap devices list', () => {
  it('lists devices as a table', async () => {
    const { code, stdout } = await h.run(devices, ['list']);
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trim().split('\n');
    expect(header).toMatch(/^ID +TYPE +REGION +STATUS +MODEL +HEARTBEAT +TAGS$/);
    expect(rows).toEqual(expect.arrayContaining([
      expect.stringMatching(/^cam-1 +edge-camera +us-west-1 +\w+ +- +\S+( ago)? +lobby,cli$/),
      expect.stringMatching(/^gw-1 +edge-gateway +eu-central-1 +\w+ +- +\S+( ago)? +cli$/),
    ]));
  });

  it('filters by region, type and tag', async () => {
    const ids = async (args: string[]) =>
      (JSON.parse((await h.run(devices, ['list', ...args, '--json'])).stdout) as Page<DeviceView>).items.map((d) => d.id);
    expect(await ids(['--region', 'us-west-1'])).toEqual(['cam-1']);
    expect(await ids(['--type', 'edge-gateway'])).toEqual(['gw-1']);
    expect(await ids(['--tag', 'lobby'])).toEqual(['cam-1']);
    expect(await ids(['--model', 'adder-1.0.0'])).toEqual([]);
    expect((await h.run(devices, ['list', '--region', 'mars-1'])).stdout).toBe('no devices\n');
  });

  it('pages with --limit', async () => {
    const { stdout } = await h.run(devices, ['list', '--limit', '1']);
    expect(stdout).toContain('(1-1 of 2; --offset 1 for more)');
  });

  it('passes the API\'s message on for a bad status and prints usage for an unknown flag', async () => {
    const status = await h.run(devices, ['list', '--status', 'Asleep']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/^error: 400 .*status/m);
    const flag = await h.run(devices, ['list', '--zone', 'x']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('usage: hotswap devices list');
  });
});

describe('hotswap devices get', () => {
  it('shows one device with its capabilities', async () => {
    const { code, stdout } = await h.run(devices, ['get', 'cam-1']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^type: +edge-camera$/m);
    expect(stdout).toMatch(/^capabilities: +4 CPU cores, GPU, 2048 MB memory, 8192 MB storage$/m);
    expect(stdout).toMatch(/^tags: +lobby, cli$/m);
    const json = JSON.parse((await h.run(devices, ['get', 'gw-1', '--json'])).stdout) as DeviceView;
    expect(json).toMatchObject({ id: 'gw-1', region: 'eu-central-1', capabilities: { gpu: false } });
  });

  it('names an unknown device and asks for a missing id', async () => {
    const unknown = await h.run(devices, ['get', 'ghost-9']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: 404 .*ghost-9/m);
    const missing = await h.run(devices, ['get']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: missing <id>$/m);
    const extra = await h.run(devices, ['get', 'a', 'b']);
    expect(extra.stderr).toMatch(/^error: unexpected argument "b"$/m);
  });

  it('prints the group usage for an unknown command', async () => {
    const { code, stderr } = await h.run(devices, ['reboot']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: unknown command "devices reboot"$/m);
    expect(stderr).toMatch(/^ {2}list +list devices/m);
  });
});

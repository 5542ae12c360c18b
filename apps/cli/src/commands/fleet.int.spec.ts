import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeviceView, Page } from '@hotswap/contracts';
import { createNatsTrust, generateSigningKeyPair } from '@hotswap/infrastructure';
import { devices } from './devices.js';
import { fleet, fleetSimulate } from './fleet.js';
import { captureStream, startCliHarness, type CliHarness } from './testing/cli-harness.js';
import { eventually } from '@hotswap/infrastructure/testing';

let h: CliHarness;
let publicKeyPath: string;

beforeAll(async () => {
  h = await startCliHarness();
  publicKeyPath = join(h.dir, 'manifest.pub.pem');
  await writeFile(publicKeyPath, generateSigningKeyPair().publicKeyPem);
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 30_000);

const onlineIds = async (prefix: string) => {
  const page = JSON.parse((await h.run(devices, ['list', '--status', 'Online', '--json'])).stdout) as Page<DeviceView>;
  return page.items.map((d) => d.id).filter((id) => id.startsWith(`${prefix}-`)).sort();
};

describe('hotswap fleet simulate', () => {
  it('runs the devices, each with its own credentials, against the control plane until stopped, printing a status line', async () => {
    // The harness's nats-server is anonymous and ignores them; operator mode is tested with the agent.
    const trustFile = join(h.dir, 'nats-trust.json');
    await writeFile(trustFile, JSON.stringify(await createNatsTrust()));
    const stop = new AbortController();
    const stdout = captureStream();
    const stderr = captureStream();
    const running = fleetSimulate([
      '--devices', '3', '--nats', h.natsUrl, '--prefix', 'clisim', '--rate', '2', '--data-dir', join(h.dir, 'fleet'),
      '--manifest-public-key', publicKeyPath, '--status-every', '50', '--log-level', 'silent', '--creds-from-trust', trustFile,
    ], { stdout, stderr, env: h.env }, { stop: stop.signal });

    const deadline = Date.now() + 20_000;
    while ((await onlineIds('clisim')).length < 3) {
      if (Date.now() > deadline) throw new Error(`devices did not come online; stderr: ${stderr.text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await onlineIds('clisim')).toEqual(['clisim-001', 'clisim-002', 'clisim-003']);
    const view = JSON.parse((await h.run(devices, ['get', 'clisim-001', '--json'])).stdout) as DeviceView;
    expect(view).toMatchObject({ deviceType: 'edge-camera', region: 'us-west-1', tags: ['simulated', 'edge-camera', 'us-west-1'] });
    // The status line is printed every 50 ms: wait for one that sees all three online.
    await eventually(() => stdout.text, (text) => /^online 3\/3 /m.test(text), 10_000);

    stop.abort();
    expect(await running).toBe(0);
    expect(stdout.text).toMatch(/^online 3\/3 \| models none:3 \| swaps 0 \| inferences 0 \| RSS \d+ MB$/m);
    expect(stderr.text).toMatch(/^simulating 3 devices \(clisim-001 \.\.\. clisim-003\) on nats:\/\/127\.0\.0\.1:\d+, data in .+; Ctrl-C stops$/m);
    expect(stderr.text).toMatch(/^all 3 devices online in \d+ ms \(RSS \d+ MB\)$/m);
    expect(stderr.text).toContain('stopping the simulated devices...');
  }, 40_000);

  it('names the bad flag, and prints the usage', async () => {
    const missing = await h.run(fleet, ['simulate']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: --devices is required\n\nusage: hotswap fleet simulate --devices <n>/);
    expect((await h.run(fleet, ['simulate', '--devices', '0'])).stderr).toMatch(/^error: --devices takes an integer >= 1, got "0"/);
    expect((await h.run(fleet, ['simulate', '--devices', '2', '--prefix', 'a.b'])).stderr).toMatch(/^error: --prefix takes letters, digits, _ and - \(at most 40\), got "a\.b"/);
    expect((await h.run(fleet, ['simulate', '--devices', '2', '--log-level', 'loud'])).stderr).toMatch(/^error: --log-level takes one of debug, info, warn, error, silent, got "loud"/);
    expect((await h.run(fleet, ['simulate', '--devices', '2', '--bogus'])).stderr).toMatch(/^error: Unknown option '--bogus'/);
    const help = await h.run(fleet, ['simulate', '--help']);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('--creds-from-trust <file>') });
  });

  it('fails with the file named when the public key or the trust file cannot be used', async () => {
    const noKey = await h.run(fleet, ['simulate', '--devices', '1', '--manifest-public-key', join(h.dir, 'missing.pem')]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/^error: cannot read the manifest public key .*missing\.pem: ENOENT/);
    const badTrust = join(h.dir, 'trust.json');
    await writeFile(badTrust, '{"operatorJwt":"x"}');
    const trust = await h.run(fleet, ['simulate', '--devices', '1', '--manifest-public-key', publicKeyPath, '--creds-from-trust', badTrust]);
    expect(trust.code).toBe(1);
    expect(trust.stderr).toBe(
      `error: the NATS trust file ${badTrust} lacks operatorSeed, accountJwt, accountSeed, accountPublicKey, systemAccountJwt, systemAccountPublicKey (expected the nats-trust.json the embedded default writes)\n`,
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '@hotswap/infrastructure/testing';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'apps/cli/bin/hotswap.mjs');

let dataDir: string;
let child: ChildProcess | undefined;

const listening = (port: number) => new Promise<boolean>((resolve) => {
  const socket = createConnection({ host: '127.0.0.1', port });
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

beforeAll(async () => {
  // `npm start` runs the compiled CLI; build it the same way.
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT });
  dataDir = await mkdtemp(join(tmpdir(), 'hotswap-dev-'));
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('the embedded default (npm start)', () => {
  it('starts everything, accepts a token from `hotswap token`, and stops cleanly on Ctrl-C with no orphaned nats-server', async () => {
    const natsPort = await freePort();
    const env = { ...process.env, HOTSWAP_DATA_DIR: dataDir, PORT: '0', HOTSWAP_NATS_PORT: String(natsPort), HOTSWAP_SIMULATED_DEVICES: '3' };
    const started = Date.now();
    child = spawn(process.execPath, [BIN, 'dev'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 60 s:\n${output}`)), 60_000);
      const check = () => {
        const m = /HotSwap is ready in \d+ ms: API and dashboard on (http:\/\/[^,\s]+)/.exec(output);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      };
      child!.stdout!.on('data', check);
      child!.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}:\n${output}`)); });
    });
    console.log(`embedded default ready after ${Date.now() - started} ms (process start included)`);

    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const { stdout: token } = await run(process.execPath, [BIN, 'token', '--role', 'Viewer'], { cwd: ROOT, env });
    const devices = await fetch(`${url}/api/v1/devices`, { headers: { authorization: `Bearer ${token.trim()}` } });
    expect(devices.status).toBe(200);
    expect(((await devices.json()) as { items: Array<{ id: string; status: string }> }).items.map((d) => [d.id, d.status]))
      .toEqual([['dev-001', 'Online'], ['dev-002', 'Online'], ['dev-003', 'Online']]);
    expect(await listening(natsPort)).toBe(true);

    // NATS runs in operator mode: anonymous clients are refused; a device registered through the
    // API gets credentials that let it use its own subjects and nobody else's.
    await expect(connect({ servers: `nats://127.0.0.1:${natsPort}`, reconnect: false })).rejects.toThrow(/authorization/i);
    const apiKey = (await readFile(join(dataDir, 'keys', 'registration-api-key'), 'utf8')).trim();
    const registered = await fetch(`${url}/api/v1/devices`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ id: 'field-1', deviceType: 'edge-sensor', region: 'us-east-1', capabilities: { cpuCores: 1, gpu: false, memoryMb: 512, storageMb: 1024 } }),
    });
    expect(registered.status).toBe(201);
    const { token: creds, inboxPrefix } = (await registered.json()) as { token: string; inboxPrefix: string };
    const device = await connect({ servers: `nats://127.0.0.1:${natsPort}`, authenticator: credsAuthenticator(new TextEncoder().encode(creds)), inboxPrefix });
    const errors: string[] = [];
    void (async () => { for await (const s of device.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message)); })();
    const reply = await device.request('hotswap.device.field-1.register', JSON.stringify({
      deviceId: 'field-1', deviceType: 'edge-sensor', region: 'us-east-1', capabilities: { cpuCores: 1, gpu: false, memoryMb: 512, storageMb: 1024 },
    }), { timeout: 5_000 });
    expect(reply.json()).toEqual({ accepted: true, deviceId: 'field-1' });
    device.subscribe('hotswap.device.dev-001.cmd');
    const deadline = Date.now() + 5_000;
    while (!errors.some((e) => /Permissions Violation/i.test(e)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(errors.join()).toMatch(/Permissions Violation for Subscription to "hotswap\.device\.dev-001\.cmd"/i);
    await device.close();

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(await listening(natsPort)).toBe(false);
  }, 120_000);

  it('prints usage and exits non-zero for an unknown command or a bad role', async () => {
    await expect(run(process.execPath, [BIN, 'launch'], { cwd: ROOT })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('unknown command launch') });
    await expect(run(process.execPath, [BIN, 'token', '--role', 'God'], { cwd: ROOT, env: { ...process.env, HOTSWAP_DATA_DIR: dataDir } }))
      .rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--role takes one of Admin, ModelDeveloper, Operator, Viewer') });
  }, 30_000);
});

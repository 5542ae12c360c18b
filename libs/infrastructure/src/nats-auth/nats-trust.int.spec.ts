import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { DeviceSubjects } from '@hotswap/contracts';
import { startNatsServer, type NatsServer } from '../testing/nats-server.js';
import { createNatsTrust, mintDeviceCredentials, mintServiceCredentials, natsServerTrustConfig, type NatsCredentials, type NatsTrust } from './nats-trust.js';

let trust: NatsTrust;
let server: NatsServer;
let dir: string;
const open: NatsConnection[] = [];

async function connectAs(credentials: NatsCredentials, errors?: Error[]): Promise<NatsConnection> {
  const nc = await connect({
    servers: server.url,
    authenticator: credsAuthenticator(new TextEncoder().encode(credentials.creds)),
    ...(credentials.inboxPrefix ? { inboxPrefix: credentials.inboxPrefix } : {}),
  });
  if (errors) void (async () => { for await (const s of nc.status()) if (s.type === 'error') errors.push(s.error as Error); })();
  open.push(nc);
  return nc;
}

/** Waits until the server has reported a permissions violation to this connection. */
async function violation(errors: Error[], fragment: string): Promise<string> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = errors.find((e) => String(e.message).includes(fragment));
    if (found) return found.message;
    if (Date.now() > deadline) throw new Error(`no permissions violation mentioning ${fragment}; saw ${errors.map((e) => e.message).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  trust = await createNatsTrust();
  dir = await mkdtemp(join(tmpdir(), 'hotswap-auth-'));
  const config = join(dir, 'server.conf');
  await writeFile(config, natsServerTrustConfig(trust));
  server = await startNatsServer({ jetstream: true, config });
}, 30_000);

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close()));
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('per-device NATS credentials on an operator-mode nats-server', () => {
  it('refuses a connection without credentials', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization|authorization/);
  });

  it('lets a device take its own commands and ack them, and a service use JetStream', async () => {
    const service = await connectAs(await mintServiceCredentials(trust, 'distributor'));
    const deviceA = await connectAs(await mintDeviceCredentials(trust, 'dev-a'));
    deviceA.subscribe(DeviceSubjects.command('dev-a'), { callback: (_e, msg) => { msg.respond('ack'); } });
    await deviceA.flush();
    expect((await service.request(DeviceSubjects.command('dev-a'), 'swap', { timeout: 5_000 })).string()).toBe('ack');

    service.subscribe(DeviceSubjects.sync('dev-a'), { callback: (_e, msg) => { msg.respond('{"desired":null}'); } });
    await service.flush();
    expect((await deviceA.request(DeviceSubjects.sync('dev-a'), '{}', { timeout: 5_000 })).string()).toBe('{"desired":null}');

    const kv = await new Kvm(service).create('auth-test');
    await kv.put('dev-a', 'x');
    expect((await kv.get('dev-a'))?.string()).toBe('x');
  });

  it("refuses a device reading another device's commands", async () => {
    const errors: Error[] = [];
    const deviceA = await connectAs(await mintDeviceCredentials(trust, 'dev-a2'), errors);
    deviceA.subscribe(DeviceSubjects.command('dev-b2'));
    expect(await violation(errors, DeviceSubjects.command('dev-b2'))).toMatch(/Permissions Violation for Subscription/i);
  });

  it('refuses a device publishing status or telemetry as another device', async () => {
    const errors: Error[] = [];
    const service = await connectAs(await mintServiceCredentials(trust, 'registry'));
    const seen: string[] = [];
    service.subscribe('hotswap.device.*.status', { callback: (_e, msg) => { seen.push(msg.subject); } });
    await service.flush();
    const deviceA = await connectAs(await mintDeviceCredentials(trust, 'dev-a3'), errors);
    deviceA.publish(DeviceSubjects.status('dev-b3'), '{}');
    deviceA.publish(DeviceSubjects.status('dev-a3'), '{}');
    expect(await violation(errors, DeviceSubjects.status('dev-b3'))).toMatch(/Permissions Violation for Publish/i);
    await service.flush();
    const deadline = Date.now() + 5_000;
    while (!seen.includes(DeviceSubjects.status('dev-a3')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([DeviceSubjects.status('dev-a3')]);
  });

  it("refuses a device listening on another device's inbox", async () => {
    const errors: Error[] = [];
    const deviceA = await connectAs(await mintDeviceCredentials(trust, 'dev-a4'), errors);
    deviceA.subscribe('_INBOX_dev-b4.>');
    expect(await violation(errors, '_INBOX_dev-b4')).toMatch(/Permissions Violation for Subscription/i);
  });

  it('honours the expiry of credentials minted with node:crypto: refuses expired ones, accepts live ones', async () => {
    const expired = await mintDeviceCredentials(trust, 'dev-a5', { issuedAt: new Date(Date.now() - 120_000), expiresAt: new Date(Date.now() - 60_000) });
    await expect(connect({ servers: server.url, reconnect: false, authenticator: credsAuthenticator(new TextEncoder().encode(expired.creds)) }))
      .rejects.toThrow(/Authorization|authorization|expired/);
    const live = await connectAs(await mintDeviceCredentials(trust, 'dev-a5', { expiresAt: new Date(Date.now() + 60_000) }));
    await live.flush();
    expect(live.isClosed()).toBe(false);
  });

  it('refuses to mint credentials for an id that is not a device id', async () => {
    await expect(mintDeviceCredentials(trust, 'dev.*')).rejects.toThrow('device id "dev.*" must match');
  });
});

import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { Commands, DeviceSubjects, type CredentialsReply, type DeviceRegistration } from '@hotswap/contracts';
import {
  createNatsTrust, JetStreamEventStore, LocalFileArtifactStore, MessageBus, mintServiceCredentials, natsServerTrustConfig, PgliteDatabase,
  type NatsTrust, type ServiceRuntime,
} from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { DeviceRegistryModule } from '../device-registry.module.js';

/**
 * Revocation on a nats-server configured as production would be (operator mode, `resolver: MEMORY`):
 * the server cannot be told to drop one user, so device credentials are short-lived and renewed
 * only while the device is registered. Real time is used because the server checks JWT expiry.
 */
const TTL_MS = 4_000;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
let trust: NatsTrust;
let server: NatsServer;
let dir: string;
let service: NatsConnection;
let eventStore: JetStreamEventStore;
let db: PgliteDatabase;
let app: INestApplicationContext;
const open: NatsConnection[] = [];

const connectAs = async (creds: string, inboxPrefix: string) => {
  const nc = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds)), inboxPrefix, reconnect: false });
  open.push(nc);
  return nc;
};

beforeAll(async () => {
  trust = await createNatsTrust();
  dir = await mkdtemp(join(tmpdir(), 'hotswap-revoke-'));
  await writeFile(join(dir, 'server.conf'), natsServerTrustConfig(trust));
  server = await startNatsServer({ jetstream: true, config: join(dir, 'server.conf') });
  service = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode((await mintServiceCredentials(trust, 'device-registry')).creds)) });
  eventStore = await JetStreamEventStore.fromConnection(service);
  db = await PgliteDatabase.open();
  const runtime: ServiceRuntime = {
    nats: service, bus: new MessageBus(service, { logger: quiet }), eventStore, db,
    artifacts: new LocalFileArtifactStore({ rootDir: join(dir, 'artifacts') }), clock: () => new Date(), logger: quiet,
  };
  app = await NestFactory.createApplicationContext(DeviceRegistryModule.register(runtime, { natsTrust: trust, credentialsTtlMs: TTL_MS }), { logger: false });
  await app.init();
}, 30_000);

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close()));
  await app?.close();
  await eventStore?.close();
  await service?.close();
  await db?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const registerThroughApi = (id: string) => new MessageBus(service, { logger: quiet }).request<object, DeviceRegistration>(Commands.registerDevice, {
  actor: 'admin', id, deviceType: 'edge-sensor', region: 'eu-central-1', capabilities: { cpuCores: 1, gpu: false, memoryMb: 256, storageMb: 512 },
}, { timeoutMs: 5_000 });
const deregister = (id: string) => new MessageBus(service, { logger: quiet }).request(Commands.deregisterDevice, { actor: 'admin', id }, { timeoutMs: 5_000 });
const renew = async (nc: NatsConnection, id: string) => (await nc.request(DeviceSubjects.credentials(id), JSON.stringify({ deviceId: id }), { timeout: 5_000 })).json<CredentialsReply & { error?: { message: string } }>();
const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));
/** Why the server shut a connection attempt out: refused at once, or accepted and closed straight away. */
async function shutOut(attempt: Promise<NatsConnection>): Promise<string> {
  try {
    return String(await (await attempt).closed());
  } catch (error) {
    return String(error);
  }
}
/** The `exp` the server enforces: whole seconds, so up to a second before `expiresAt`. */
const enforcedExpiryMs = (expiresAt: string) => Math.floor(new Date(expiresAt).getTime() / 1000) * 1000;

describe('revoking a deleted device on an operator-mode nats-server', () => {
  it('keeps a registered device connected through renewals, and shuts a deleted one out once its credentials expire', async () => {
    const kept = await registerThroughApi('rev-kept');
    const deleted = await registerThroughApi('rev-gone');
    // As a device would: reconnects use the latest credentials it holds.
    let keptCreds = kept.token;
    const keptConnection = await connect({
      servers: server.url, inboxPrefix: kept.inboxPrefix, reconnectTimeWait: 100, maxReconnectAttempts: -1,
      authenticator: (nonce?: string) => credsAuthenticator(new TextEncoder().encode(keptCreds))(nonce),
    });
    open.push(keptConnection);
    const goneConnection = await connectAs(deleted.token, deleted.inboxPrefix);

    await deregister('rev-gone');
    expect((await renew(goneConnection, 'rev-gone')).error?.message).toMatch(/^device rev-gone was deregistered at .+; its credentials are not renewed$/);

    // The kept device renews shortly before its first credentials expire.
    const goneExpiry = enforcedExpiryMs(deleted.expiresAt!);
    await sleepUntil(goneExpiry - 1_500);
    const renewed = await renew(keptConnection, 'rev-kept');
    expect(enforcedExpiryMs(renewed.expiresAt)).toBeGreaterThan(goneExpiry + 1_000);
    keptCreds = renewed.token;

    // Past the expiry: the server has closed the deleted device's connection and refuses its
    // credentials; the kept device is back on its renewed ones.
    await sleepUntil(goneExpiry + 500);
    expect(String(await goneConnection.closed())).toMatch(/User Authentication Expired/);
    // A new connection is refused either way: in the expiry's own second the server admits it and
    // expires it at once; a second later it refuses the JWT outright.
    expect(await shutOut(connectAs(deleted.token, deleted.inboxPrefix))).toMatch(/User Authentication Expired|Authorization Violation/);
    expect((await renew(keptConnection, 'rev-kept')).expiresAt).toBeDefined();
    expect(keptConnection.isClosed()).toBe(false);
  }, 20_000);
});

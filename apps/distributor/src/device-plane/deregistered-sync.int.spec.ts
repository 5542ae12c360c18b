import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Commands, DeviceSubjects, type DeviceRegistration } from '@hotswap/contracts';
import { DeviceRegistryModule } from '@hotswap/device-registry';
import { createNatsTrust, generateSigningKeyPair } from '@hotswap/infrastructure';
import { startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { DesiredState } from '../dispatch/desired-state.js';
import { DistributorModule } from '../distributor.module.js';

const keys = generateSigningKeyPair();
let t: TestRuntime;
let contexts: INestApplicationContext[];
let desired: DesiredState;
let device: NatsConnection;

async function boot(module: Parameters<typeof NestFactory.createApplicationContext>[0]) {
  const context = await NestFactory.createApplicationContext(module, { logger: false });
  await context.init();
  contexts.push(context);
  return context;
}

const register = (id: string) => t.runtime.bus.request<object, DeviceRegistration>(Commands.registerDevice, {
  actor: 'admin', id, deviceType: 'edge-sensor', region: 'eu-central-1', capabilities: { cpuCores: 1, gpu: false, memoryMb: 256, storageMb: 512 },
}, { timeoutMs: 5_000 });
const deregister = (id: string) => t.runtime.bus.request(Commands.deregisterDevice, { actor: 'admin', id }, { timeoutMs: 5_000 });
const sync = async (id: string) => (await device.request(DeviceSubjects.sync(id), JSON.stringify({ deviceId: id }), { timeout: 5_000 })).json<unknown>();

async function eventually<T>(read: () => Promise<T>, until: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (until(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in time; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  t = await startTestRuntime();
  contexts = [];
  // Registration through the API issues NATS credentials, so the registry needs a trust to mint them.
  await boot(DeviceRegistryModule.register(t.runtime, { natsTrust: await createNatsTrust() }));
  const distributor = await boot(DistributorModule.register(t.runtime, {
    artifactBaseUrl: 'http://127.0.0.1:8080', urlSigningSecret: 'url-secret', manifestPrivateKeyPem: keys.privateKeyPem,
  }));
  desired = distributor.get(DesiredState);
  device = await connect({ servers: t.nats.url });
}, 60_000);

afterAll(async () => {
  await device?.close();
  for (const context of (contexts ?? []).reverse()) await context.close();
  await t?.cleanup();
});

describe('distributor - sync from a deregistered device', () => {
  it('refuses the sync of a deregistered device with NOT_FOUND naming when, and clears its desired model', async () => {
    await register('dereg-1');
    await desired.set('dereg-1', { modelId: 'adder-1.0.0', commandId: 'cmd-dereg-1' });
    await deregister('dereg-1');

    const reply = await eventually(() => sync('dereg-1'), (r) => typeof r === 'object' && r !== null && 'error' in r);
    expect(reply).toEqual({
      error: { code: 'NOT_FOUND', message: expect.stringMatching(/^device dereg-1 was deregistered at \S+; it gets no model until it is registered again$/) },
    });
    await eventually(() => desired.get('dereg-1'), (d) => d === undefined);
  });

  it('answers the sync of a device registered again after its deregistration', async () => {
    await register('dereg-2');
    await deregister('dereg-2');
    await eventually(() => sync('dereg-2'), (r) => typeof r === 'object' && r !== null && 'error' in r);
    await register('dereg-2');

    expect(await eventually(() => sync('dereg-2'), (r) => !(typeof r === 'object' && r !== null && 'error' in r))).toEqual({ desired: null });
  });

  it('keeps answering the sync of registered devices', async () => {
    await register('dereg-kept');
    expect(await sync('dereg-kept')).toEqual({ desired: null });
  });
});

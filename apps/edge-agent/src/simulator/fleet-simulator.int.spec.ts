import { describe, it, expect, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { connect } from '@nats-io/transport-node';
import { DeviceSubjects, deviceIdOfSubject, type DeviceAnnouncement } from '@hotswap/contracts';
import { generateSigningKeyPair } from '@hotswap/infrastructure';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { silentLogger } from '../agent/logger.js';
import { ArtifactServer } from '../testing/artifact-server.js';
import { ControlPlaneDouble } from '../testing/control-plane-double.js';
import { swapCommand } from '../testing/releases.js';
import { defaultFleetSpecs, FleetSimulator, UnknownSimulatedDeviceError } from './fleet-simulator.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('fleet simulator', () => {
  it('runs the twelve default devices in one process, each registering and swapping on its own', async () => {
    const keys = generateSigningKeyPair();
    const prefix = `sim-${randomUUID().slice(0, 8)}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'fleet-'));
    const artifacts = await ArtifactServer.start();
    cleanups.push(async () => {
      await artifacts.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    // One control plane answering every device of this fleet.
    const nc = await connect({ servers: NATS_URL });
    cleanups.push(() => nc.drain());
    const announced: DeviceAnnouncement[] = [];
    nc.subscribe(DeviceSubjects.all.register, {
      callback: (_e, msg) => {
        if (!deviceIdOfSubject(msg.subject)?.startsWith(prefix)) return;
        announced.push(msg.json<DeviceAnnouncement>());
        msg.respond(JSON.stringify({ accepted: true }));
      },
    });
    nc.subscribe(DeviceSubjects.all.sync, {
      callback: (_e, msg) => {
        if (deviceIdOfSubject(msg.subject)?.startsWith(prefix)) msg.respond(JSON.stringify({ desired: null }));
      },
    });
    await nc.flush();

    const specs = defaultFleetSpecs(12, prefix);
    const fleet = new FleetSimulator(specs, {
      natsServers: NATS_URL,
      dataDir,
      manifestPublicKeyPem: keys.publicKeyPem,
      heartbeatIntervalMs: 100,
      graceMs: 20,
      warmupRuns: 1,
      logger: silentLogger,
    });
    cleanups.push(() => fleet.stop());
    await fleet.start();
    await fleet.waitUntilOnline(20_000);
    expect(fleet.deviceIds).toEqual(specs.map((s) => s.deviceId));
    expect(announced.map((a) => a.deviceId).sort()).toEqual(specs.map((s) => s.deviceId));
    expect(announced.find((a) => a.deviceId === `${prefix}-002`)).toMatchObject({ region: 'us-east-1', deviceType: 'edge-camera' });

    const target = `${prefix}-005`;
    const cp = await ControlPlaneDouble.start(NATS_URL, target);
    cleanups.push(() => cp.stop());
    const model = makeAddModel({ addend: 1 });
    const command = swapCommand({ name: 'adder', version: '1.0.0', artifact: model, artifactUrl: artifacts.put('fleet-v1', model), privateKeyPem: keys.privateKeyPem });
    expect(await cp.command(command)).toMatchObject({ accepted: true });
    expect(await cp.outcome(command.commandId)).toMatchObject({ phase: 'swapped' });

    const x = new ort.Tensor('float32', Float32Array.from([1, 1, 1, 1]), [1, 4]);
    expect((await fleet.agent(target).infer({ x })).modelId).toBe('adder-1.0.0');
    expect(fleet.agents.filter((a) => a.activeModelId !== undefined).map((a) => a.deviceId)).toEqual([target]);
    expect(() => fleet.agent('nope')).toThrow(UnknownSimulatedDeviceError);
    await fleet.stop();
    expect(fleet.agents.every((a) => !a.online)).toBe(true);
  });

  it('refuses a device listed twice', () => {
    const [spec] = defaultFleetSpecs(1);
    expect(() => new FleetSimulator([spec, spec], { natsServers: NATS_URL, dataDir: '/tmp/unused', manifestPublicKeyPem: generateSigningKeyPair().publicKeyPem })).toThrow(
      'device dev-001 is listed twice',
    );
  });
});

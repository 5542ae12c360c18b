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
  it('runs the twelve default devices in one process, each registering, swapping and serving synthetic load on its own', async () => {
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
      telemetryIntervalMs: 100,
      syntheticLoadPerSec: 50,
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
    // The synthetic load runs on the device with a model, and shows in its telemetry.
    await cp.until(() => cp.telemetry.reduce((n, w) => n + w.body.count, 0) >= 10, 5000, 'telemetry of the synthetic load');
    expect(cp.telemetry.every((w) => w.body.modelId === 'adder-1.0.0' && w.body.errors === 0)).toBe(true);
    expect(fleet.load.counts.started).toBeGreaterThanOrEqual(9);
    expect(fleet.load.counts.failed).toBe(0);

    // A second device given the same bytes (under another URL) shares the first one's session.
    const second = `${prefix}-006`;
    const cp2 = await ControlPlaneDouble.start(NATS_URL, second);
    cleanups.push(() => cp2.stop());
    const sameBytes = swapCommand({ name: 'adder', version: '1.0.0', artifact: model, artifactUrl: artifacts.put('fleet-v1-copy', model), privateKeyPem: keys.privateKeyPem });
    await cp2.command(sameBytes);
    expect(await cp2.outcome(sameBytes.commandId)).toMatchObject({ phase: 'swapped' });
    expect(artifacts.requestsFor('fleet-v1-copy')).toHaveLength(1);
    expect(fleet.sessions.size).toBe(1);
    expect(fleet.sessions.refs(command.release.manifest.sha256)).toBe(2);
    expect(Array.from((await fleet.agent(second).infer({ x })).outputs.y.data as Float32Array)).toEqual([2, 2, 2, 2]);
    expect(() => fleet.agent('nope')).toThrow(UnknownSimulatedDeviceError);
    await fleet.stop();
    expect(fleet.agents.every((a) => !a.online)).toBe(true);
    expect(fleet.sessions.size).toBe(0);
  });

  it('refuses a device listed twice', () => {
    const [spec] = defaultFleetSpecs(1);
    expect(() => new FleetSimulator([spec, spec], { natsServers: NATS_URL, dataDir: '/tmp/unused', manifestPublicKeyPem: generateSigningKeyPair().publicKeyPem })).toThrow(
      'device dev-001 is listed twice',
    );
  });
});

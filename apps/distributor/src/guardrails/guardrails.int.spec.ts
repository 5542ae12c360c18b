import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { DeviceRegistryModule } from '@hotswap/device-registry';
import {
  Readiness, serveMetrics, startMetrics, type MetricsServer, type ProcessResourceReading,
  type ResourceSampler, type ServiceMetrics, type ServiceRuntime,
} from '@hotswap/infrastructure';
import { eventually } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '@hotswap/model-registry';
import { Conductor } from '../conductor/conductor.js';
import { DistributionCommands } from '../distribution-commands.js';
import { startDistributorHarness, type DistributorHarness } from '../testing/distributor-harness.js';
import { Guardrails } from './guardrails.js';

// A real distributor module on real NATS and JetStream, with its /metrics and /readyz server,
// driven into saturation by an injected sampler: each reading is one synthetic second in which the
// process used `load` of its 2 cores, so the assessment does not depend on this machine's load.
// Devices are played on raw NATS: they accept commands and never report, so every device
// commanded stays in flight and the count of commanded devices is the rollout's pace.

const MIB = 1024 ** 2;
let h: DistributorHarness;
let metrics: ServiceMetrics;
let server: MetricsServer;
let distributor: INestApplicationContext;
const received = new Map<string, number>();

/** The injected sampler: `load` is the CPU share of the next readings. */
const sampler = new (class implements ResourceSampler {
  load = 0.2;
  private last: ProcessResourceReading = { atMs: 0, cpuMs: 0, cpuCores: 2, memoryBytes: 100 * MIB, memoryLimitBytes: 1000 * MIB };
  read(): ProcessResourceReading {
    this.last = { ...this.last, atMs: this.last.atMs + 1_000, cpuMs: this.last.cpuMs + 1_000 * 2 * this.load };
    return this.last;
  }
})();

/** Accepts its commands, counting them, and never reports. */
const fakeDevice = (deviceId: string) => h.fakeDevice(deviceId, (_command, ack) => {
  received.set(deviceId, (received.get(deviceId) ?? 0) + 1);
  ack();
});

const ids = (prefix: string) => Array.from({ length: 8 }, (_, i) => `${prefix}-${i + 1}`);
const readyz = async () => {
  const response = await fetch(server.url.replace('/metrics', '/readyz'));
  return { status: response.status, body: (await response.json()) as { status: string; reason?: string } };
};
const gauge = async (name: string) => Number(/^(\S+)\{[^}]*\} (\S+)$/m.exec(
  (await (await fetch(server.url)).text()).split('\n').filter((line) => line.startsWith(`${name}{`)).join('\n'),
)?.[2]);
const create = (targetDevices: string[]) => h.create({ modelId: 'guard-1.0.0', targetDevices, execution: { maxInFlight: 8 } });
/** Devices commanded so far (TargetUpdateRequested), from the distribution's own stream. */
const commanded = async (id: string) => {
  const state = await distributor.get(DistributionCommands).state(id);
  return state.status === 'Empty' ? 0 : state.counts.Requested;
};
const tick = () => distributor.get(Conductor).tick();
const delivered = (prefix: string) => ids(prefix).filter((id) => (received.get(id) ?? 0) > 0).length;

beforeAll(async () => {
  h = await startDistributorHarness([ModelRegistryModule, DeviceRegistryModule]);
  for (const id of [...ids('calm'), ...ids('busy')]) await fakeDevice(id);
  await h.uploadAddModel('guard', '1.0.0', 1);

  // As serviceRuntimeFromEnv builds it: the metrics handle and the readiness checks behind METRICS_PORT.
  metrics = startMetrics({ serviceName: 'distributor', processMetrics: false });
  const readiness = new Readiness();
  server = await serveMetrics(metrics, 0, '127.0.0.1', { readiness });
  const runtime: ServiceRuntime = { ...h.t.runtime, metrics, readiness };
  distributor = await h.startDistributor(runtime, {
    instanceId: 'guarded',
    // Ticks only when the test asks (and once on each create), so each tick's requests can be counted.
    tickIntervalMs: 3_600_000,
    guardrails: {
      sampler, sampleIntervalMs: 10,
      thresholds: { cpuShare: 0.8, memoryShare: 0.75, windowMs: 3_000, hysteresis: 0.1, minThrottle: 0.25, decrease: 0.5, increase: 0.25 },
    },
  });
}, 60_000);

afterAll(async () => {
  await h?.cleanup();
  await server?.close();
  await metrics?.shutdown();
});

describe('distributor guardrails', () => {
  it('slows its rollouts while saturated, says so in /readyz and its metrics, and returns to full rate once it recovers', async () => {
    // Calm: ready, full rate, and a rollout commands all its devices (maxInFlight 8) in one tick.
    await eventually(() => distributor.get(Guardrails).saturation().cpuShare, (share) => share !== null);
    expect(await readyz()).toStrictEqual({ status: 200, body: { status: 'ready', checks: { 'distributor.saturation': { ready: true } } } });
    expect([await gauge('distributor_saturated'), await gauge('distributor_throttle')]).toStrictEqual([0, 1]);
    const calm = await create(ids('calm'));
    await tick();
    expect(await commanded(calm.id)).toBe(8);

    // CPU at 95% of its cores, sustained over the window: saturated, throttled down to the floor.
    sampler.load = 0.95;
    const saturated = await eventually(readyz, (r) => r.status === 503);
    expect(saturated.body).toMatchObject({ status: 'not ready', reason: 'distributor saturated: CPU 95% of 2 cores over the last 3 s, above 80%' });
    await eventually(() => gauge('distributor_throttle'), (throttle) => throttle === 0.25);
    expect(await gauge('distributor_saturated')).toBe(1);
    expect(h.t.logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'distributor saturated: slowing rollouts' }));

    // The same rollout now commands a quarter of its devices per tick, and no more while they are in flight.
    const busy = await create(ids('busy'));
    await tick();
    expect(await commanded(busy.id)).toBe(2);
    await tick();
    await tick();
    expect(await commanded(busy.id)).toBe(2);
    await eventually(() => delivered('busy'), (n) => n === 2);

    // Back under the limit by the hysteresis: ready again, and the throttle climbs back to 1.
    sampler.load = 0.2;
    expect((await eventually(readyz, (r) => r.status === 200)).body.status).toBe('ready');
    await eventually(() => gauge('distributor_throttle'), (throttle) => throttle === 1);
    expect(await gauge('distributor_saturated')).toBe(0);

    // Full rate: the rest of the devices are commanded in the next tick, and reach the devices.
    await tick();
    expect(await commanded(busy.id)).toBe(8);
    await eventually(() => delivered('busy'), (n) => n === 8);
    expect(received.get('busy-1')).toBe(1);
  }, 60_000);
});

/**
 * Rollout throughput of one distributor: the embedded control plane (all services, one
 * distributor) in this process on its own nats-server and PostgreSQL (BENCH_DB=pglite: PGlite),
 * and BENCH_DEVICES (default 1000) simulated devices in a child process (`hotswap fleet simulate`,
 * compiled: `npm run build` first). A Direct rollout of a small model to every device, then a
 * ProgressiveRollout (10/50/100 %, BENCH_STAGE_DURATION each, default PT2S) of its next version.
 * Health window PT0S: a device counts as updated when it reports the new model serving.
 * Reports devices updated per minute, per-device latency from TargetUpdateRequested (first attempt)
 * to TargetUpdateSucceeded, and the success rate, all from the distribution's events.
 * Run: `npm run bench -- rollout` (BENCH_DEVICES=10000 for the figure).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { StoredEvent } from '@hotswap/infrastructure';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { eventAt, intEnv, machineLoad, percentile, startFleetStack, type FleetStack } from '../support/fleet-stack.js';

const DEVICES = intEnv('BENCH_DEVICES', 1000);
const STAGE_DURATION = process.env['BENCH_STAGE_DURATION'] ?? 'PT2S';
/** A generous bound: 1000 devices/min would be 60 s per 1000. */
const TIMEOUT_MS = Math.max(300_000, DEVICES * 120);
let stack: FleetStack;
let onlineMs = 0;

beforeAll(async () => {
  console.log(`rollout benchmark: ${DEVICES} devices; ${machineLoad()}`);
  stack = await startFleetStack('rollout', { devices: DEVICES, ratePerSec: 0 });
  onlineMs = await stack.startFleet();
  console.log(`${DEVICES} devices Online in the registry after ${(onlineMs / 1000).toFixed(1)} s (${stack.db}); simulator: ${stack.fleetStatus()}; ${machineLoad()}`);
}, 30 * 60_000);

afterAll(async () => {
  await stack?.close();
}, 120_000);

interface RolloutFigures {
  readonly strategy: string;
  readonly targets: number;
  readonly updated: number;
  readonly successRate: number;
  /** Started → last device updated, s. */
  readonly rolloutS: number;
  readonly devicesPerMinute: number;
  /** The same, over the time waves were commanding devices (observation between stages left out). */
  readonly devicesPerMinuteWhileCommanding: number;
  readonly latencyMs: { p50: number; p95: number; p99: number; max: number };
  readonly failedAttempts: number;
  /** Distinct failure reasons with their counts. */
  readonly failures: Readonly<Record<string, number>>;
  readonly swapMsP50: number;
  readonly status: string;
}

/** The figures of one finished distribution, from its events. */
function figures(events: readonly StoredEvent[], status: string): RolloutFigures {
  const of = (type: string) => events.filter((e) => e.type === type);
  const created = of('DistributionCreated')[0]!;
  const started = eventAt(of('DistributionStarted')[0]!);
  const requestedAt = new Map<string, number>();
  for (const e of of('TargetUpdateRequested')) if (!requestedAt.has(String(e.data['deviceId']))) requestedAt.set(String(e.data['deviceId']), eventAt(e));
  const succeeded = of('TargetUpdateSucceeded');
  const latencies = succeeded.map((e) => eventAt(e) - requestedAt.get(String(e.data['deviceId']))!);
  const lastUpdated = Math.max(...succeeded.map(eventAt));
  // Per wave: from WaveStarted to its last verified device.
  const waveOf = new Map<string, number>();
  for (const e of of('TargetUpdateRequested')) waveOf.set(String(e.data['deviceId']), Number(e.data['wave']));
  let commandingMs = 0;
  for (const w of of('WaveStarted')) {
    const inWave = succeeded.filter((e) => waveOf.get(String(e.data['deviceId'])) === Number(w.data['wave'])).map(eventAt);
    if (inWave.length > 0) commandingMs += Math.max(...inWave) - eventAt(w);
  }
  const targets = (created.data['targets'] as string[]).length;
  const rolloutMs = lastUpdated - started;
  const round1 = (v: number) => Math.round(v * 10) / 10;
  return {
    strategy: String(created.data['strategy']),
    targets,
    updated: succeeded.length,
    successRate: Math.round((1000 * succeeded.length) / targets) / 1000,
    rolloutS: round1(rolloutMs / 1000),
    devicesPerMinute: Math.round((succeeded.length / rolloutMs) * 60_000),
    devicesPerMinuteWhileCommanding: Math.round((succeeded.length / commandingMs) * 60_000),
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: Math.max(...latencies) },
    failedAttempts: of('TargetUpdateFailed').length,
    failures: of('TargetUpdateFailed').reduce<Record<string, number>>((acc, e) => {
      const reason = String(e.data['reason']).slice(0, 200);
      acc[reason] = (acc[reason] ?? 0) + 1;
      return acc;
    }, {}),
    swapMsP50: round1(percentile(succeeded.map((e) => Number(e.data['swapMs'])), 50)),
    status,
  };
}

async function rollOut(body: object): Promise<RolloutFigures> {
  const id = await stack.createDistribution(body);
  const final = await stack.waitForStatus(id, ['Succeeded', 'Failed', 'RolledBack', 'Cancelled'], TIMEOUT_MS);
  const result = figures(await stack.events(id), final.status);
  console.log(`${result.strategy} to ${DEVICES} devices (${stack.db}, health window PT0S): ${JSON.stringify(result, null, 1)}\nsimulator: ${stack.fleetStatus()}; ${machineLoad()}`);
  return result;
}

describe('rollout throughput of one distributor', () => {
  it(`updates ${DEVICES} devices with a Direct rollout`, async () => {
    const modelId = await stack.uploadValidated('bench-adder', '1.0.0', makeAddModel({ addend: 1 }));
    const result = await rollOut({ modelId, strategy: 'Direct', targetDevices: stack.deviceIds, execution: { healthWindow: 'PT0S' } });
    expect(result.status).toBe('Succeeded');
    expect(result.updated).toBe(DEVICES);
  }, TIMEOUT_MS + 120_000);

  it(`updates ${DEVICES} devices with a ProgressiveRollout 10/50/100 (${STAGE_DURATION} per stage)`, async () => {
    const modelId = await stack.uploadValidated('bench-adder', '2.0.0', makeAddModel({ addend: 2 }));
    const result = await rollOut({
      modelId, strategy: 'ProgressiveRollout', targetDevices: stack.deviceIds, execution: { healthWindow: 'PT0S' },
      stages: [{ percentage: 10, duration: STAGE_DURATION }, { percentage: 50, duration: STAGE_DURATION }, { percentage: 100, duration: STAGE_DURATION }],
    });
    expect(result.status).toBe('Succeeded');
    expect(result.updated).toBe(DEVICES);
  }, TIMEOUT_MS + 120_000);
});

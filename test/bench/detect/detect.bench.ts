/**
 * Degradation detection: BENCH_DEVICES (default 1000) simulated devices in their own process
 * (`hotswap fleet simulate --rate BENCH_RATE`, default 1 inference/s per device) against the
 * embedded control plane in this process (PostgreSQL; BENCH_DB=pglite: PGlite), default monitor
 * settings (detection every 2 s over 1-minute windows, 200 samples, p99 +20 %, p < 0.01; devices
 * send 5-second telemetry windows). Every device first runs a fast model; then a rollout of a slower
 * model with the same outputs (makeSlowModel) starts, rollback Automatic:
 *  - canary: Canary 10 % for PT10M (the rest is the control group);
 *  - direct: Direct to every device, health window PT2M (the baseline is the same devices before
 *    their swap; a Direct rollout that has finished is no longer watched, so the window keeps it running).
 * Onset = the first TargetSwapped of the slow model (a device starts serving it). Reports seconds
 * from onset to DegradationDetected and to DistributionRolledBack, from the events' `at`.
 * Run: `npm run bench -- detect` (BENCH_DETECT=canary or direct runs one scenario; BENCH_SLOW_SIZE and
 * BENCH_SLOW_DEPTH, default 128 and 48, shape the slow model).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeAddModel, makeSlowModel } from '@hotswap/infrastructure/testing';
import { eventAt, intEnv, machineLoad, startFleetStack, type FleetStack } from '../support/fleet-stack.js';

const DEVICES = intEnv('BENCH_DEVICES', 1000);
const RATE = intEnv('BENCH_RATE', 1);
const SCENARIOS = (process.env['BENCH_DETECT'] ?? 'canary,direct').split(',');
/** Same input for both models: x [1, SIZE]; the slow one chains DEPTH SIZE×SIZE identity MatMuls before adding. */
const SIZE = intEnv('BENCH_SLOW_SIZE', 128);
const DEPTH = intEnv('BENCH_SLOW_DEPTH', 48);
/** Telemetry of the fast model builds up before each rollout: baseline and control group. */
const BASELINE_MS = 20_000;
/** The direct scenario's health window (the success criteria have no latency bound, so only the monitor's rules can fail it). */
const HEALTH_WINDOW = 'PT2M';
let stack: FleetStack;
let fastModel = '';

beforeAll(async () => {
  console.log(`detect benchmark: ${DEVICES} devices at ${RATE} inference/s each, slow model ${SIZE}x${SIZE} depth ~${DEPTH}; ${machineLoad()}`);
  stack = await startFleetStack('detect', { devices: DEVICES, ratePerSec: RATE });
  const onlineMs = await stack.startFleet();
  console.log(`${DEVICES} devices Online after ${(onlineMs / 1000).toFixed(1)} s (${stack.db})`);
  fastModel = await stack.uploadValidated('bench-detect', '1.0.0', makeAddModel({ addend: 1, shape: [1, SIZE] }));
  const id = await stack.createDistribution({ modelId: fastModel, strategy: 'Direct', targetDevices: stack.deviceIds, execution: { healthWindow: 'PT0S' } });
  const final = await stack.waitForStatus(id, ['Succeeded', 'Failed', 'RolledBack'], 15 * 60_000);
  if (final.status !== 'Succeeded') throw new Error(`the fast model's rollout ended ${final.status}: ${final.reason ?? ''}`);
}, 30 * 60_000);

afterAll(async () => {
  await stack?.close();
}, 120_000);

let version = 1;

async function degrade(strategy: 'canary' | 'direct') {
  await new Promise((r) => setTimeout(r, BASELINE_MS));
  version++;
  const slowModel = await stack.uploadValidated('bench-detect', `${version}.0.0`, makeSlowModel({ addend: 1, size: SIZE, depth: DEPTH + version }));
  const common = { modelId: slowModel, targetDevices: stack.deviceIds, rollbackPolicy: 'Automatic' };
  // A Direct rollout is watched only while it runs: its health window keeps it running after the swaps.
  const id = await stack.createDistribution(strategy === 'canary'
    ? { ...common, strategy: 'Canary', canaryPercentage: 10, canaryDuration: 'PT10M', execution: { healthWindow: 'PT0S' } }
    : { ...common, strategy: 'Direct', execution: { healthWindow: HEALTH_WINDOW } });
  const final = await stack.waitForStatus(id, ['RolledBack', 'Succeeded', 'Failed', 'Cancelled'], 15 * 60_000);
  const events = await stack.events(id);
  const of = (type: string) => events.filter((e) => e.type === type);
  const swapped = of('TargetSwapped').map(eventAt);
  const onset = Math.min(...swapped);
  const detected = of('DegradationDetected')[0];
  const rolledBack = of('DistributionRolledBack')[0];
  const seconds = (at: number | undefined) => (at === undefined ? null : Math.round((at - onset) / 100) / 10);
  const figures = {
    strategy: strategy === 'canary' ? 'Canary 10%, health window PT0S' : `Direct, health window ${HEALTH_WINDOW}`,
    status: final.status,
    devicesOnSlowModel: swapped.length,
    lastSwapS: seconds(Math.max(...swapped)),
    detectedS: seconds(detected ? eventAt(detected) : undefined),
    rollbackStartedS: seconds(of('RollbackStarted')[0] ? eventAt(of('RollbackStarted')[0]!) : undefined),
    rolledBackS: seconds(rolledBack ? eventAt(rolledBack) : undefined),
    rolledBack: rolledBack?.data['rolledBack'],
    rollbackFailed: rolledBack?.data['failed'],
    detail: detected?.data['detail'],
  };
  console.log(`detection (${DEVICES} devices, ${RATE}/s each, ${stack.db}): ${JSON.stringify(figures, null, 1)}\nsimulator: ${stack.fleetStatus()}; ${machineLoad()}`);
  return figures;
}

describe('degradation detection', () => {
  it.each(SCENARIOS)('rolls back a slower model (%s) by itself', async (scenario) => {
    const figures = await degrade(scenario as 'canary' | 'direct');
    expect(figures.status).toBe('RolledBack');
    expect(figures.detail).toMatch(/latency/);
  }, 20 * 60_000);
});

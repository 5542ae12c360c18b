import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { MonitoredDistributionsReadModel } from './monitored-distributions.read-model.js';

/** The monitor's projection of distribution events, on a real JetStream event store and PGlite. */
let t: TestRuntime;
let model: MonitoredDistributionsReadModel;

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
async function append(id: string, events: Array<[type: string, data: Record<string, unknown>]>): Promise<void> {
  const { position } = await t.runtime.eventStore.append(`distribution-${id}`, events.map(([type, data]) => ({
    type, data: { distributionId: id, ...data }, metadata: { schemaVersion: 2, actor: 'olga', occurredAt: at(0) },
  })), 'any');
  await model.waitFor(position);
}
const created = (strategy: string, waves: object[], targets: string[], extra: object = {}): [string, Record<string, unknown>] => ['DistributionCreated', {
  modelId: 'm-2', strategy, targets, waves, rollbackPolicy: 'Freeze', successCriteria: { maxErrorRate: 0.01 }, excluded: [], createdAt: at(0),
  snapshot: { modelIds: ['m-1'], regions: [], model: targets.map((_, i) => (i === 0 ? -1 : 0)), region: [] }, ...extra,
}];

beforeAll(async () => {
  t = await startTestRuntime();
  model = new MonitoredDistributionsReadModel(t.runtime);
  await model.onModuleInit();
}, 30_000);

afterAll(async () => {
  await model?.onModuleDestroy();
  await t?.cleanup();
});

describe('monitor - distributions projection', () => {
  it('keeps each target in its wave\'s group with the model it ran, from the creation snapshot', async () => {
    await append('p-1', [created('Canary', [
      { name: 'canary', group: 'canary', modelId: 'm-2', size: 1, observeMs: 0 }, { name: 'rest', group: 'control', modelId: 'm-2', size: 2, observeMs: 0 },
    ], ['d1', 'd2', 'd3'])]);
    expect(await model.get('p-1')).toEqual({
      id: 'p-1', modelId: 'm-2', strategy: 'Canary', status: 'Scheduled', rollbackPolicy: 'Freeze', successCriteria: { maxErrorRate: 0.01 },
      startedAtMs: Date.parse(at(0)),
      targets: [
        { deviceId: 'd1', group: 'canary', modelId: 'm-2' },
        { deviceId: 'd2', group: 'control', modelId: 'm-2', fromModelId: 'm-1' },
        { deviceId: 'd3', group: 'control', modelId: 'm-2', fromModelId: 'm-1' },
      ],
    });
    expect(await model.get('p-unknown')).toBeUndefined();
  });

  it('watches a distribution while it runs, is paused or waits for approval, until it is found degraded or ends', async () => {
    await append('p-2', [created('ProgressiveRollout', [{ name: 'stage-1', group: 'stage-1', modelId: 'm-2', size: 1, observeMs: 0 }], ['e1'])]);
    const watched = async () => (await model.watched()).filter((id) => id === 'p-2');
    expect(await watched()).toEqual([]);
    await append('p-2', [['DistributionStarted', { at: at(10) }]]);
    expect(await watched()).toEqual(['p-2']);
    expect((await model.get('p-2'))?.startedAtMs).toBe(Date.parse(at(10)));
    await append('p-2', [['ApprovalRequested', { wave: 2, reason: 'stage', at: at(11) }]]);
    expect(await watched()).toEqual(['p-2']);
    await append('p-2', [['DistributionPaused', { by: 'olga', reason: 'lunch', at: at(12) }]]);
    expect((await model.get('p-2'))?.status).toBe('Paused');
    expect(await watched()).toEqual(['p-2']);
    await append('p-2', [['DistributionResumed', { by: 'olga', at: at(13) }]]);
    // The start time is the first start, not the resumption.
    expect((await model.get('p-2'))?.startedAtMs).toBe(Date.parse(at(10)));
    await append('p-2', [['DegradationDetected', { trigger: 'manual', detail: 'looks wrong', by: 'olga', at: at(14) }]]);
    expect(await watched()).toEqual([]);
    expect((await model.get('p-2'))?.degradation).toEqual({ trigger: 'manual', detail: 'looks wrong', at: at(14) });
    await append('p-2', [['DegradationDetected', { trigger: 'latency', detail: 'second', by: 'monitor', at: at(15) }], ['DistributionCancelled', { by: 'olga', reason: 'x', at: at(16) }]]);
    expect(await model.get('p-2')).toMatchObject({ status: 'Cancelled', degradation: { trigger: 'manual' } });
  });

  it('records swaps and rollbacks, adds joining devices to their wave, and starts over when a target gets another model', async () => {
    await append('p-3', [
      created('ABTesting', [
        { name: 'A', group: 'A', modelId: 'm-a', size: 1, observeMs: 0 }, { name: 'B', group: 'B', modelId: 'm-b', size: 1, observeMs: 0 },
        { name: 'winner', group: 'winner', modelId: 'm-a', size: 0, observeMs: 0 },
      ], ['a1', 'b1'], { abTest: { modelA: 'm-a', modelB: 'm-b', metric: 'latency', minSamples: 10, significanceLevel: 0.05, rolloutWinner: true, testDurationMs: 1 } }),
      ['DistributionStarted', { at: at(1) }],
      ['TargetUpdateRequested', { deviceId: 'b1', commandId: 'c1', wave: 2, modelId: 'm-b', attempt: 1, at: at(2) }],
      ['TargetSwapped', { deviceId: 'b1', commandId: 'c1', swapMs: 5, at: at(3) }],
      ['TargetsAdded', { deviceIds: ['b2'], wave: 2, fromModelIds: ['m-0'], regions: [null], at: at(4) }],
      ['TargetUpdateRequested', { deviceId: 'b2', commandId: 'c2', wave: 2, modelId: 'm-b', attempt: 1, at: at(5) }],
      ['TargetSwapped', { deviceId: 'b2', commandId: 'c2', swapMs: 5, at: at(6) }],
      ['TargetRolledBack', { deviceId: 'b2', commandId: 'c3', at: at(7) }],
      // The winner A goes to group B's first device: a new swap in the winner group.
      ['TargetUpdateRequested', { deviceId: 'b1', commandId: 'c4', wave: 3, modelId: 'm-a', attempt: 1, fromModelId: 'm-b', at: at(8) }],
    ]);
    const record = await model.get('p-3');
    expect(record?.abTest).toMatchObject({ modelA: 'm-a', rolloutWinner: true });
    // b2 keeps its swap time after its rollback: the distribution is no longer watched by then.
    expect(record?.targets).toEqual([
      { deviceId: 'a1', group: 'A', modelId: 'm-a' },
      { deviceId: 'b2', group: 'B', modelId: 'm-b', fromModelId: 'm-0', swappedAtMs: Date.parse(at(6)) },
      { deviceId: 'b1', group: 'winner', modelId: 'm-a', fromModelId: 'm-b' },
    ]);
  });

  it('accepts an incomplete creation event without blocking on it', async () => {
    await append('p-4', [['DistributionCreated', { modelId: 'm-2' }]]);
    expect(await model.get('p-4')).toMatchObject({ strategy: 'Direct', status: 'Scheduled', targets: [] });
  });
});

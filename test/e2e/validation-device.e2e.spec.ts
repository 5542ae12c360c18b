import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Commands, type ValidateModelCommand, type ValidationReportView, type ValidationStartedReply } from '@hotswap/contracts';
import { NoModelLoadedError, type EdgeAgent } from '@hotswap/edge-agent';
import { MessageBus } from '@hotswap/infrastructure';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { answer, startE2eStack, type E2eStack } from './support/e2e-stack.js';

const DEVICE = 'val-dev-a';
let stack: E2eStack;
let agent: EdgeAgent;
let nc: NatsConnection;
let bus: MessageBus;

beforeAll(async () => {
  // Every run's load test and benchmark go to a device tagged `validation` unless a request says otherwise.
  stack = await startE2eStack('valdevice', { validator: { onDevice: true, benchmarkInferences: 50 } });
  agent = stack.makeAgent(DEVICE, 0, 'validation');
  await agent.start();
  await stack.waitForDevices('validation', 1);
  nc = await connect({ servers: stack.nats.url });
  bus = new MessageBus(nc);
}, 120_000);

afterAll(async () => {
  await nc?.drain();
  await stack?.close();
}, 60_000);

async function finishedReport(modelId: string, validationId?: string): Promise<ValidationReportView> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { body } = await stack.api(`/api/v1/models/${modelId}/validation-report`);
    if (body?.status && body.status !== 'Running' && (validationId === undefined || body.validationId === validationId)) return body as ValidationReportView;
    if (Date.now() > deadline) throw new Error(`no verdict for ${modelId}: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('validation on a device tagged validation, end to end', () => {
  it('loads and benchmarks an uploaded model on the device, recording ranOn, without swapping it in', async () => {
    expect((await stack.upload('ondev', '1.0.0', makeAddModel({ addend: 1 }))).status).toBe(202);
    const report = await finishedReport('ondev-1.0.0');
    expect(report).toMatchObject({ status: 'Passed', ranOn: DEVICE });
    const [load, bench] = [report.steps.find((s) => s.step === 'load')!, report.steps.find((s) => s.step === 'benchmark')!];
    expect(load).toMatchObject({ outcome: 'Completed', measurements: { ranOn: DEVICE } });
    expect(load.measurements.loadMs).toBeGreaterThan(0);
    expect(bench).toMatchObject({ outcome: 'Completed', measurements: { ranOn: DEVICE, inferences: 50, errorRate: 0 } });
    expect(bench.measurements.latencyMs!.p50).toBeLessThanOrEqual(bench.measurements.latencyMs!.p99);
    expect(bench.measurements.throughputPerSec).toBeGreaterThan(10);
    // The device still serves nothing: the validation slot is never swapped in.
    await expect(answer(agent)).rejects.toBeInstanceOf(NoModelLoadedError);
    const device = await stack.api(`/api/v1/devices/${DEVICE}`);
    expect(device.body.currentModelId).toBeNull();
  }, 60_000);

  it('rejects the model with a precise load check when the asked device is not an Online validation device', async () => {
    expect((await stack.upload('ondev', '2.0.0', makeAddModel({ addend: 2 }))).status).toBe(202);
    await finishedReport('ondev-2.0.0');
    const started = await bus.request<ValidateModelCommand, ValidationStartedReply>(
      Commands.validateModel, { actor: 'e2e-admin', modelId: 'ondev-2.0.0', onDevice: 'no-such-device' }, { timeoutMs: 10_000 },
    );
    const report = await finishedReport('ondev-2.0.0', started.validationId);
    expect(report).toMatchObject({ status: 'Failed', ranOn: 'no-such-device' });
    expect(report.checks.find((c) => c.name === 'load')).toEqual({ name: 'load', threshold: true, actual: false, passed: false });
    expect(report.notes).toContain('load: not run: device no-such-device is not an Online device tagged validation');
    expect((await stack.api('/api/v1/models/ondev-2.0.0')).body.status).toBe('Rejected');
  }, 60_000);

  it('runs in the validator when a request says onDevice: false', async () => {
    const started = await bus.request<ValidateModelCommand, ValidationStartedReply>(
      Commands.validateModel, { actor: 'e2e-admin', modelId: 'ondev-2.0.0', onDevice: false }, { timeoutMs: 10_000 },
    );
    expect(await finishedReport('ondev-2.0.0', started.validationId)).toMatchObject({ status: 'Passed', ranOn: 'validator' });
  }, 60_000);
});

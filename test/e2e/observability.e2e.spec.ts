/**
 * Issue 6 end to end: one trace links upload → validate → distribute → activate on each device
 * (asserted with an in-memory exporter across the real control plane and real edge agents), and
 * the gateway's `/metrics` serves the spec's figures, which move as the system works.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { connect } from '@nats-io/transport-node';
import { DeviceSubjects, type DeviceLogLine } from '@hotswap/contracts';
import { SpanAttributes, Spans, startTracing, type TracingHandle } from '@hotswap/infrastructure';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import { startE2eStack, type E2eStack } from './support/e2e-stack.js';

const DEVICES = ['obs-dev-a', 'obs-dev-b'];
const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;
let stack: E2eStack;

beforeAll(async () => {
  // Before the stack: the services and agents of this process share the global tracer.
  tracing = startTracing({ serviceName: 'hotswap-e2e', exporter, batch: false });
  stack = await startE2eStack('observability');
  const agents = DEVICES.map((id, i) => stack.makeAgent(id, i, 'obs'));
  await Promise.all(agents.map((a) => a.start()));
  await stack.waitForDevices('obs', 2);
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
}, 60_000);

/** `name value` lines of the Prometheus text, without labels (the spec's series carry none). */
async function scrape(): Promise<{ status: number; contentType: string | null; values: Map<string, number> }> {
  const res = await fetch(`${stack.controlPlane.url}/metrics`);
  const text = await res.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_:][a-z0-9_:]*)(?:\{[^}]*\})? (\S+)$/i.exec(line);
    if (match && !line.startsWith('#')) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return { status: res.status, contentType: res.headers.get('content-type'), values };
}

async function eventually<T>(what: string, read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: last seen ${JSON.stringify(value, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const named = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

describe('observability across the control plane and the devices', () => {
  let distributionId: string;

  it('serves Prometheus text at /metrics without a token, before anything happened', async () => {
    const { status, contentType, values } = await scrape();
    expect(status).toBe(200);
    expect(contentType).toContain('text/plain');
    expect(values.get('models_uploaded_total') ?? 0).toBe(0);
    expect(values.get('devices_online_count')).toBe(2);
    expect(values.get('devices_offline_count')).toBe(0);
    expect(values.get('distributions_active_count')).toBe(0);
  });

  it('counts an upload and its validation', async () => {
    const uploaded = await stack.upload('traced', '1.0.0', makeAddModel({ addend: 1 }));
    expect(uploaded.status).toBe(202);
    await stack.waitForValidated('traced-1.0.0');
    const { values } = await eventually('validation recorded', scrape, (s) => (s.values.get('model_validation_duration_count') ?? 0) >= 1);
    expect(values.get('models_uploaded_total')).toBe(1);
    expect(values.get('model_upload_duration_count')).toBe(1);
    expect(values.get('model_validation_duration_count')).toBe(1);
  }, 60_000);

  it('rolls out to both devices and counts the distribution, the devices and their swaps', async () => {
    const created = await stack.api('/api/v1/distributions', {
      method: 'POST', body: JSON.stringify({ modelId: 'traced-1.0.0', strategy: 'Direct', targetDevices: DEVICES }),
    });
    expect(created.status).toBe(202);
    distributionId = created.body.id;
    expect(await stack.waitForStatus(distributionId, ['Succeeded', 'Failed'])).toMatchObject({ status: 'Succeeded' });

    const { values } = await eventually('fleet figures', scrape, (s) => s.values.get('models_active_count') === 1);
    expect(values.get('distributions_created_total')).toBe(1);
    expect(values.get('distributions_succeeded_total')).toBe(1);
    expect(values.get('distributions_failed_total') ?? 0).toBe(0);
    expect(values.get('devices_updated_total')).toBe(2);
    expect(values.get('model_swap_duration_count')).toBe(2);
    expect(values.get('distribution_duration_count')).toBe(1);
    expect(values.get('distributions_active_count')).toBe(0);
  }, 60_000);

  it('links upload → validate → distribute → activate on each device in one trace', async () => {
    await eventually('a model.swap span per device', () => named(Spans.modelSwap).length, (n) => n >= DEVICES.length);
    const [upload] = named(Spans.modelUpload);
    const [validate] = named(Spans.modelValidate);
    const [create] = named(Spans.distributionCreate);
    expect(upload && validate && create).toBeDefined();
    const traceId = upload!.spanContext().traceId;

    expect(upload!.attributes).toMatchObject({ [SpanAttributes.modelId]: 'traced-1.0.0', [SpanAttributes.modelVersion]: '1.0.0' });
    expect(upload!.attributes[SpanAttributes.modelChecksum]).toMatch(/^[0-9a-f]{64}$/);
    expect(validate!.attributes).toMatchObject({ [SpanAttributes.modelId]: 'traced-1.0.0', [SpanAttributes.modelChecksum]: upload!.attributes[SpanAttributes.modelChecksum] });
    expect(parentOf(validate!)).toBe(idOf(upload!));
    expect(parentOf(create!)).toBe(idOf(validate!));
    expect(create!.attributes).toMatchObject({ [SpanAttributes.distributionId]: distributionId, [SpanAttributes.modelId]: 'traced-1.0.0' });
    // The request that created it is linked, not the parent.
    expect(create!.links).toHaveLength(1);

    const executes = named(Spans.distributionExecute).filter((s) => s.attributes[SpanAttributes.distributionId] === distributionId);
    expect(executes.length).toBeGreaterThan(0);
    for (const execute of executes) expect(parentOf(execute)).toBe(idOf(create!));

    const updates = named(Spans.deviceUpdate);
    expect(updates.map((s) => s.attributes[SpanAttributes.deviceId]).sort()).toEqual(DEVICES);
    for (const update of updates) {
      expect(executes.map(idOf)).toContain(parentOf(update));
      expect(update.attributes).toMatchObject({
        [SpanAttributes.modelId]: 'traced-1.0.0', [SpanAttributes.modelVersion]: '1.0.0',
        [SpanAttributes.modelChecksum]: upload!.attributes[SpanAttributes.modelChecksum],
      });
      const swaps = named(Spans.modelSwap).filter((s) => parentOf(s) === idOf(update));
      expect(swaps).toHaveLength(1);
      expect(swaps[0]!.attributes[SpanAttributes.deviceId]).toBe(update.attributes[SpanAttributes.deviceId]);
    }
    const chain = [upload!, validate!, create!, ...executes, ...updates, ...named(Spans.modelSwap)];
    expect(new Set(chain.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
  }, 30_000);
});

describe('device logs', () => {
  it("forwards an agent's warnings over NATS for central logging", async () => {
    const probe = await connect({ servers: stack.nats.url });
    try {
      const lines: DeviceLogLine[] = [];
      probe.subscribe(DeviceSubjects.all.log, { callback: (_err, msg) => { lines.push(msg.json<DeviceLogLine>()); } });
      await probe.flush();
      // A malformed command makes the agent log a warning.
      await probe.request(DeviceSubjects.command(DEVICES[0]!), '{"commandId":"bad-1"}', { timeout: 5_000 });

      const line = await eventually('a forwarded log line', () => lines.find((l) => l.message === 'rejected a malformed command'), (l) => l !== undefined);
      expect(line).toMatchObject({ deviceId: DEVICES[0], level: 'warn', fields: { commandId: 'bad-1' } });
    } finally {
      await probe.close();
    }
  }, 20_000);
});

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { headers as natsHeaders, connect, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MessageBus, type BusSubscription, type MessagingLogger, type Validator } from '../messaging/index.js';
import { Spans, SpanAttributes } from './telemetry-names.js';
import { activeTraceparent, modelAttributes, otelBusOptions, startTracing, withSpan, type TracingHandle } from './tracing.js';

const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const TIMEOUT_MS = 5_000;
const MODEL = { id: 'adder-1.0.0', version: '1.0.0', checksum: 'a'.repeat(64) };

interface ModelRef {
  readonly modelId: string;
}
const isModelRef: Validator<ModelRef> = (payload) =>
  typeof payload === 'object' && payload !== null && typeof (payload as { modelId?: unknown }).modelId === 'string'
    ? { ok: true, value: payload as ModelRef }
    : { ok: false, reason: 'modelId must be a string' };

const quiet: MessagingLogger = { warn: () => undefined, error: () => undefined };
const subject = (name: string) => `test.observability.${name}.${randomUUID()}`;

function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  expect(found).toHaveLength(1);
  return found[0]!;
}

async function eventually(check: () => void | Promise<void>, timeoutMs = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describe('trace context over NATS', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: TracingHandle;
  // Three "processes": the control plane's registry, the validator/distributor and a device.
  let connections: NatsConnection[];
  let registry: MessageBus;
  let distributor: MessageBus;
  let device: MessageBus;
  let subscriptions: BusSubscription[];

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'observability-test', exporter, batch: false });
    connections = await Promise.all([1, 2, 3].map(() => connect({ servers: NATS_URL })));
    [registry, distributor, device] = connections.map((nc) => new MessageBus(nc, { ...otelBusOptions, logger: quiet })) as [
      MessageBus,
      MessageBus,
      MessageBus,
    ];
  });

  // Spans are exported once the resource's detected attributes have settled: flush before reading.
  async function finished(): Promise<ReadableSpan[]> {
    await tracing.forceFlush();
    return exporter.getFinishedSpans();
  }

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await tracing.shutdown();
  });

  beforeEach(() => {
    subscriptions = [];
    exporter.reset();
  });

  afterEach(async () => {
    await Promise.all(subscriptions.map((sub) => sub.close()));
  });

  it('links upload → validate → distribute → device update and swap in one trace, with the model attributes', async () => {
    const validate = subject('validate');
    const distribute = subject('distribute');
    const deviceCmd = subject('device-cmd');
    subscriptions.push(
      await distributor.handle(validate, {
        validate: isModelRef,
        handler: ({ modelId }) =>
          withSpan(Spans.modelValidate, { [SpanAttributes.modelId]: modelId }, async () => {
            // The validator's verdict triggers the distribution, still inside the same trace.
            await distributor.request(distribute, { modelId }, { timeoutMs: TIMEOUT_MS });
            return { valid: true };
          }),
      }),
      await distributor.handle(distribute, {
        validate: isModelRef,
        handler: ({ modelId }) =>
          withSpan(Spans.distributionExecute, { [SpanAttributes.modelId]: modelId, [SpanAttributes.distributionId]: 'dist-1' }, () =>
            distributor.request(deviceCmd, { modelId }, { timeoutMs: TIMEOUT_MS, envelope: false }),
          ),
      }),
      await device.handle(deviceCmd, {
        validate: isModelRef,
        envelope: false,
        handler: ({ modelId }) =>
          withSpan(Spans.deviceUpdate, { [SpanAttributes.modelId]: modelId, [SpanAttributes.deviceId]: 'dev-001' }, () =>
            withSpan(Spans.modelSwap, { [SpanAttributes.modelId]: modelId }, () => ({ accepted: true })),
          ),
      }),
    );

    const reply = await withSpan(Spans.modelUpload, modelAttributes(MODEL), () =>
      registry.request(validate, { modelId: MODEL.id }, { timeoutMs: TIMEOUT_MS }),
    );

    expect(reply).toEqual({ valid: true });
    const spans = await finished();
    const upload = spanNamed(spans, Spans.modelUpload);
    const validation = spanNamed(spans, Spans.modelValidate);
    const execute = spanNamed(spans, Spans.distributionExecute);
    const update = spanNamed(spans, Spans.deviceUpdate);
    const swap = spanNamed(spans, Spans.modelSwap);
    const traceId = upload.spanContext().traceId;
    for (const span of [validation, execute, update, swap]) expect(span.spanContext().traceId).toBe(traceId);
    expect(upload.parentSpanContext).toBeUndefined();
    expect(validation.parentSpanContext?.spanId).toBe(upload.spanContext().spanId);
    expect(execute.parentSpanContext?.spanId).toBe(validation.spanContext().spanId);
    expect(update.parentSpanContext?.spanId).toBe(execute.spanContext().spanId);
    expect(swap.parentSpanContext?.spanId).toBe(update.spanContext().spanId);
    // The handler side continues a remote parent; the child spans within a process do not.
    expect(validation.parentSpanContext?.isRemote).toBe(true);
    expect(swap.parentSpanContext?.isRemote).toBeFalsy();
    expect(upload.attributes).toEqual({ 'model.id': MODEL.id, 'model.version': MODEL.version, 'model.checksum': MODEL.checksum });
    expect(update.attributes).toEqual({ 'model.id': MODEL.id, 'device.id': 'dev-001' });
    expect(upload.resource.attributes['service.name']).toBe('observability-test');
    for (const span of spans) expect(span.status.code).toBe(SpanStatusCode.OK);
  });

  it('carries the trace on fire-and-forget messages to subscribers', async () => {
    const events = subject('events');
    const handled: string[] = [];
    subscriptions.push(
      await device.subscribe(events, {
        validate: isModelRef,
        handler: ({ modelId }) =>
          withSpan(Spans.deviceUpdate, { [SpanAttributes.modelId]: modelId }, () => {
            handled.push(modelId);
          }),
      }),
    );

    await withSpan(Spans.distributionCreate, modelAttributes({ id: MODEL.id }), async () => {
      registry.publish(events, { modelId: MODEL.id });
      await registry.flush();
    });

    await eventually(async () => expect(await finished()).toHaveLength(2));
    expect(handled).toEqual([MODEL.id]);
    const create = spanNamed(await finished(), Spans.distributionCreate);
    const update = spanNamed(await finished(), Spans.deviceUpdate);
    expect(update.spanContext().traceId).toBe(create.spanContext().traceId);
    expect(update.parentSpanContext?.spanId).toBe(create.spanContext().spanId);
  });

  it('puts the active span in the traceparent header the receiver sees', async () => {
    const echo = subject('echo');
    subscriptions.push(
      await device.handle(echo, { validate: () => ({ ok: true, value: null }), handler: (_value, ctx) => ctx.traceparent }),
    );

    let sent: string | undefined;
    const seen = await withSpan(Spans.modelUpload, {}, () => {
      sent = activeTraceparent();
      return registry.request<null, string>(echo, null, { timeoutMs: TIMEOUT_MS });
    });

    expect(sent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(seen).toBe(sent);
  });

  it.each([
    ['no traceparent header', undefined],
    ['an invalid traceparent header', '00-not-a-trace-01'],
  ])('starts a new trace for a message with %s', async (_case, header) => {
    const cmd = subject('untraced');
    subscriptions.push(
      await device.handle(cmd, {
        validate: isModelRef,
        handler: ({ modelId }) => withSpan(Spans.modelSwap, { [SpanAttributes.modelId]: modelId }, () => 'ok'),
      }),
    );
    const hdrs = natsHeaders();
    if (header !== undefined) hdrs.set('traceparent', header);
    const nc = connections[0]!;

    const reply = await nc.request(cmd, JSON.stringify({ modelId: MODEL.id }), {
      timeout: TIMEOUT_MS,
      ...(header === undefined ? {} : { headers: hdrs }),
    });

    expect(JSON.parse(reply.string())).toEqual({ ok: true, result: 'ok' });
    const swap = spanNamed(await finished(), Spans.modelSwap);
    expect(swap.parentSpanContext).toBeUndefined();
    expect(swap.kind).toBe(SpanKind.INTERNAL);
    // The reply still carries the fresh trace the bus started for the message.
    expect(reply.headers?.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('records a handler failure on its span and still replies with the error', async () => {
    const failing = subject('failing');
    subscriptions.push(
      await device.handle(failing, {
        validate: isModelRef,
        handler: () =>
          withSpan(Spans.modelSwap, modelAttributes({ id: MODEL.id }), () => {
            throw Object.assign(new Error('warm-up failed: output shape [1,3] instead of [1,2]'), { code: 'SWAP_FAILED' });
          }),
      }),
    );

    await expect(
      withSpan(Spans.distributionExecute, {}, () => registry.request(failing, { modelId: MODEL.id }, { timeoutMs: TIMEOUT_MS })),
    ).rejects.toMatchObject({ code: 'SWAP_FAILED' });

    const spans = await finished();
    const swap = spanNamed(spans, Spans.modelSwap);
    const execute = spanNamed(spans, Spans.distributionExecute);
    expect(swap.parentSpanContext?.spanId).toBe(execute.spanContext().spanId);
    expect(swap.status).toEqual({ code: SpanStatusCode.ERROR, message: 'warm-up failed: output shape [1,3] instead of [1,2]' });
    expect(swap.events.map((event) => event.name)).toEqual(['exception']);
    expect(execute.status.code).toBe(SpanStatusCode.ERROR);
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { activeTraceparent, inTraceOf, startTracing, withLinkedParent, withRemoteParentIf, withSpan, type TracingHandle } from './tracing.js';

const MODEL_TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracing helpers for reactors', () => {
  let tracing: TracingHandle | undefined;

  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  const start = () => {
    const exporter = new InMemorySpanExporter();
    tracing = startTracing({ serviceName: 'unit', exporter, batch: false });
    return async () => {
      await tracing!.forceFlush();
      return exporter.getFinishedSpans();
    };
  };

  it('continues the recorded trace and links the caller when both are known', async () => {
    const finished = start();

    await withSpan('request', {}, () => withLinkedParent(MODEL_TRACE, 'distribution.create', { 'distribution.id': 'd-1' }, () => undefined));

    const spans = await finished();
    const create = spans.find((s) => s.name === 'distribution.create')!;
    const request = spans.find((s) => s.name === 'request')!;
    expect(create.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(create.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(create.links.map((l) => l.context.spanId)).toEqual([request.spanContext().spanId]);
  });

  it('is a plain child of the active span when nothing was recorded', async () => {
    const finished = start();

    await withSpan('request', {}, () => withLinkedParent(undefined, 'distribution.create', {}, () => undefined));

    const spans = await finished();
    const create = spans.find((s) => s.name === 'distribution.create')!;
    expect(create.parentSpanContext?.spanId).toBe(spans.find((s) => s.name === 'request')!.spanContext().spanId);
    expect(create.links).toEqual([]);
  });

  it('exports a polled span only when the work did something, or failed', async () => {
    const finished = start();

    await withRemoteParentIf(MODEL_TRACE, 'distribution.execute', { round: 1 }, async () => 0, (n) => n > 0);
    const kept = await withRemoteParentIf(MODEL_TRACE, 'distribution.execute', { round: 2 }, async () => activeTraceparent(), (tp) => tp !== undefined);
    await expect(withRemoteParentIf(undefined, 'distribution.execute', { round: 3 }, async () => { throw new Error('store down'); }, () => false))
      .rejects.toThrow('store down');

    const spans = await finished();
    expect(spans.map((s) => s.attributes['round'])).toEqual([2, 3]);
    expect(kept).toContain(spans[0]!.spanContext().spanId);
    expect(spans[0]!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(spans[1]!.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'store down' });
  });

  it('runs work in the trace a traceparent names, or in the root context', () => {
    start();
    expect(inTraceOf(MODEL_TRACE, () => activeTraceparent())).toBe(MODEL_TRACE);
    expect(inTraceOf(undefined, () => activeTraceparent())).toBeUndefined();
  });
});

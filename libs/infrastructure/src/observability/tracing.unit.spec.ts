import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Spans, SpanAttributes } from './telemetry-names.js';
import {
  activeTraceIds,
  activeTraceparent,
  modelAttributes,
  otelRunInContext,
  startTracing,
  tracesUrl,
  withRemoteParent,
  withSpan,
  type TracingHandle,
} from './tracing.js';

const REMOTE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracing', () => {
  let tracing: TracingHandle | undefined;

  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  function startInMemory() {
    const exporter = new InMemorySpanExporter();
    const handle = startTracing({ serviceName: 'unit', exporter, batch: false });
    tracing = handle;
    // Spans are exported once the resource's detected attributes have settled: flush before reading.
    return {
      finished: async () => {
        await handle.forceFlush();
        return exporter.getFinishedSpans();
      },
    };
  }

  it('continues the trace a traceparent names, as a consumer span', async () => {
    const spans = startInMemory();

    await withRemoteParent(REMOTE, Spans.modelValidate, modelAttributes({ id: 'adder-1.0.0' }), () => undefined);

    const [span] = await spans.finished();
    expect(span?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span?.parentSpanContext).toMatchObject({ spanId: 'b7ad6b7169203331', isRemote: true });
    expect(span?.kind).toBe(SpanKind.CONSUMER);
    expect(span?.attributes).toEqual({ [SpanAttributes.modelId]: 'adder-1.0.0' });
  });

  it.each([undefined, 'garbage', '00-00000000000000000000000000000000-b7ad6b7169203331-01'])(
    'starts a new trace when the traceparent is %p',
    async (traceparent) => {
      const spans = startInMemory();

      await withSpan('outer', {}, () => withRemoteParent(traceparent, Spans.modelValidate, {}, () => undefined));

      const finished = await spans.finished();
      const span = finished.find((s) => s.name === Spans.modelValidate);
      const outer = finished.find((s) => s.name === 'outer');
      // Not a child of the span that happened to be active: a message starts its own trace.
      expect(span?.parentSpanContext).toBeUndefined();
      expect(span?.spanContext().traceId).not.toBe(outer?.spanContext().traceId);
    },
  );

  it('records a thrown error on the span, sets ERROR and rethrows it', async () => {
    const spans = startInMemory();
    const failure = new Error('checksum mismatch');

    await expect(withSpan(Spans.modelUpload, {}, () => Promise.reject(failure))).rejects.toBe(failure);
    await expect(
      withSpan(Spans.modelUpload, {}, () => {
        throw 'not an Error';
      }),
    ).rejects.toBe('not an Error');

    const [first, second] = await spans.finished();
    expect(first?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'checksum mismatch' });
    expect(first?.events[0]?.attributes?.['exception.message']).toBe('checksum mismatch');
    expect(second?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'not an Error' });
  });

  it('merges span options with the attributes and returns the function value', async () => {
    const spans = startInMemory();

    const value = await withSpan(Spans.distributionCreate, { [SpanAttributes.distributionId]: 'dist-1' }, () => 42, {
      kind: SpanKind.SERVER,
      attributes: { [SpanAttributes.modelId]: 'm' },
    });

    expect(value).toBe(42);
    const [span] = await spans.finished();
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.attributes).toEqual({ 'distribution.id': 'dist-1', 'model.id': 'm' });
    expect(span?.status.code).toBe(SpanStatusCode.OK);
  });

  it('exposes the active ids for log lines, and nothing outside a span', async () => {
    startInMemory();

    const inside = await withSpan('work', {}, () => ({ ids: activeTraceIds(), traceparent: activeTraceparent() }));

    expect(activeTraceIds()).toBeUndefined();
    expect(activeTraceparent()).toBeUndefined();
    expect(inside.traceparent).toBe(`00-${inside.ids?.trace_id}-${inside.ids?.span_id}-01`);
  });

  it('runs a handler with the sender span as remote parent only when the sender sent the header', async () => {
    startInMemory();
    const parentOf = (ctx: Parameters<typeof otelRunInContext>[0]) => otelRunInContext(ctx, async () => activeTraceparent());

    await expect(parentOf({ subject: 's', traceparent: REMOTE, headers: { Traceparent: REMOTE } })).resolves.toBe(REMOTE);
    // A fresh traceparent the bus made up (header absent or different) names no span to continue.
    await expect(parentOf({ subject: 's', traceparent: REMOTE, headers: {} })).resolves.toBeUndefined();
    await expect(parentOf({ subject: 's', traceparent: REMOTE, headers: { traceparent: 'bad' } })).resolves.toBeUndefined();
  });

  it('still gives spans ids with the none exporter, so traceparent and log ids keep flowing', async () => {
    tracing = startTracing({ serviceName: 'unit', exporter: 'none' });

    const ids = await withSpan('work', {}, () => activeTraceIds());

    expect(ids?.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('defaults to none without an OTLP endpoint in the environment', async () => {
    tracing = startTracing({ serviceName: 'unit', env: {} });

    expect(await withSpan('work', {}, () => activeTraceparent())).toMatch(/^00-/);
  });

  it('can be started again after shutdown, and shutdown is idempotent', async () => {
    const first = startTracing({ serviceName: 'unit', exporter: 'none' });
    await Promise.all([first.shutdown(), first.shutdown()]);
    const spans = startInMemory();

    await withSpan('again', {}, () => undefined);

    expect((await spans.finished()).map((s) => s.name)).toEqual(['again']);
  });

  describe('OTLP export', () => {
    async function collector() {
      const received: { url: string | undefined; contentType: string | undefined; body: Buffer }[] = [];
      const server = createServer((req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          received.push({ url: req.url, contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      return { endpoint: `http://127.0.0.1:${port}`, received, close: () => new Promise((r) => server.close(r)) };
    }

    it('sends spans to <otlpEndpoint>/v1/traces as OTLP protobuf', async () => {
      const otlp = await collector();
      try {
        tracing = startTracing({ serviceName: 'model-registry', exporter: 'otlp', otlpEndpoint: otlp.endpoint });

        await withSpan(Spans.modelUpload, modelAttributes({ id: 'adder-1.0.0', version: '1.0.0', checksum: 'abc' }), () => undefined);
        await tracing.forceFlush();

        expect(otlp.received).toHaveLength(1);
        expect(otlp.received[0]).toMatchObject({ url: '/v1/traces', contentType: 'application/x-protobuf' });
        // Protobuf stores strings as UTF-8 bytes: the span name, attributes and service are in there.
        const body = otlp.received[0]!.body.toString('latin1');
        for (const text of ['model.upload', 'model.checksum', 'adder-1.0.0', 'model-registry']) expect(body).toContain(text);
      } finally {
        await otlp.close();
      }
    });

    it('picks OTLP and its endpoint from OTEL_EXPORTER_OTLP_ENDPOINT when no exporter is given', async () => {
      const otlp = await collector();
      try {
        tracing = startTracing({ serviceName: 'distributor', env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${otlp.endpoint}/` } });

        await withSpan(Spans.distributionExecute, {}, () => undefined);
        await tracing.forceFlush();

        expect(otlp.received.map((r) => r.url)).toEqual(['/v1/traces']);
      } finally {
        await otlp.close();
      }
    });

    it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as the full URL', async () => {
      const otlp = await collector();
      try {
        tracing = startTracing({ serviceName: 'validator', env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.endpoint}/custom/traces` } });

        await withSpan(Spans.modelValidate, {}, () => undefined);
        await tracing.forceFlush();

        expect(otlp.received.map((r) => r.url)).toEqual(['/custom/traces']);
      } finally {
        await otlp.close();
      }
    });
  });

  it.each([
    ['http://otel-collector:4318', 'http://otel-collector:4318/v1/traces'],
    ['http://otel-collector:4318/', 'http://otel-collector:4318/v1/traces'],
    ['https://collector.example/otlp', 'https://collector.example/otlp/v1/traces'],
  ])('appends /v1/traces to %s', (endpoint, expected) => {
    expect(tracesUrl(endpoint)).toBe(expected);
  });

  it('refuses an endpoint that is not an absolute URL, naming the setting', () => {
    expect(() => startTracing({ serviceName: 'unit', otlpEndpoint: 'otel-collector:4318x' })).toThrow(
      'otlpEndpoint must be an absolute http(s) URL such as http://otel-collector:4318, got "otel-collector:4318x"',
    );
    expect(() => startTracing({ serviceName: 'unit', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' } })).toThrow(
      'OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http(s) URL',
    );
    expect(() => startTracing({ serviceName: 'unit', env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '/v1/traces' } })).toThrow(
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an absolute http(s) URL',
    );
  });

  it('names only the model fields it is given', () => {
    expect(modelAttributes({ id: 'a', version: '1.0.0', checksum: 'c' })).toEqual({
      'model.id': 'a',
      'model.version': '1.0.0',
      'model.checksum': 'c',
    });
    expect(modelAttributes({ version: '1.0.0' })).toEqual({ 'model.version': '1.0.0' });
  });
});

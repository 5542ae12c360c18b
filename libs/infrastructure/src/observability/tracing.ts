import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type Span,
  type SpanOptions,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { MessageContext, TraceContext } from '../messaging/types.js';
import { SpanAttributes } from './telemetry-names.js';

/** Instrumentation scope of every HotSwap span. */
export const TRACER_NAME = 'hotswap';

/** `otlp` (OTLP/HTTP protobuf), `console` (stdout), `none` (ids only) or any SpanExporter (tests). */
export type TraceExporterChoice = 'otlp' | 'console' | 'none' | SpanExporter;

export interface TracingOptions {
  /** `service.name` on every span, e.g. `model-registry`. */
  readonly serviceName: string;
  /**
   * Where spans go. Default: `otlp` when `otlpEndpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT` or
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, otherwise `none`. With `none` spans still get ids,
   * so `traceparent` keeps flowing over NATS and logs keep their `trace_id`.
   */
  readonly exporter?: TraceExporterChoice;
  /**
   * Base URL of the OTLP/HTTP receiver, e.g. `http://otel-collector:4318`; `/v1/traces` is
   * appended. Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as it is), else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended), else the exporter's
   * `http://localhost:4318/v1/traces`.
   */
  readonly otlpEndpoint?: string;
  /**
   * Export in batches (default for `otlp` and exporter instances) or each span as it ends
   * (default for `console`; tests asserting spans right after the work use `false`).
   */
  readonly batch?: boolean;
  /** Read for the defaults above; defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface TracingHandle {
  readonly serviceName: string;
  /** Exports every span ended so far. */
  forceFlush(): Promise<void>;
  /**
   * Exports what is pending, stops the SDK and unregisters the global tracer provider, context
   * manager and propagator, so that tracing can be started again (tests) or the process can exit.
   */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK for this process: the tracer provider, the AsyncLocalStorage
 * context manager and the propagators, all registered globally (one per process; the embedded
 * control plane starts it once for all its services). Metrics are separate (`startMetrics`);
 * logs go through the services' own logger, so the SDK's OTLP log and metric defaults are off.
 */
export function startTracing(options: TracingOptions): TracingHandle {
  const env = options.env ?? process.env;
  const url = otlpTracesUrl(options.otlpEndpoint, env);
  const choice = options.exporter ?? (url !== undefined ? 'otlp' : 'none');
  const processor = spanProcessorFor(choice, url, options.batch);
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors: [processor],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    serviceName: options.serviceName,
    forceFlush: () => processor.forceFlush(),
    shutdown: () => {
      stopped ??= sdk.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
      });
      return stopped;
    },
  };
}

/**
 * The traces URL: `otlpEndpoint` or `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended, or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is; undefined when none is set (the exporter's default,
 * `http://localhost:4318/v1/traces`, then applies to an explicit `otlp`).
 */
function otlpTracesUrl(otlpEndpoint: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (otlpEndpoint !== undefined) return tracesUrl(otlpEndpoint);
  const traces = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  if (traces !== undefined && traces !== '') return absoluteUrl(traces, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT').href;
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (base !== undefined && base !== '') return tracesUrl(base, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  return undefined;
}

function spanProcessorFor(choice: TraceExporterChoice, url: string | undefined, batch: boolean | undefined): SpanProcessor {
  if (choice === 'none') return new NoopSpanProcessor();
  const exporter: SpanExporter =
    choice === 'console' ? new ConsoleSpanExporter() : choice === 'otlp' ? new OTLPTraceExporter(url === undefined ? {} : { url }) : choice;
  return (batch ?? choice !== 'console') ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter);
}

/** `http://collector:4318` → `http://collector:4318/v1/traces`, as for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
export function tracesUrl(endpoint: string, setting = 'otlpEndpoint'): string {
  return `${absoluteUrl(endpoint, setting).href.replace(/\/+$/, '')}/v1/traces`;
}

function absoluteUrl(value: string, setting: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch (error) {
    throw new RangeError(urlProblem(value, setting), { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(urlProblem(value, setting));
  return url;
}

function urlProblem(value: string, setting: string): string {
  return `${setting} must be an absolute http(s) URL such as http://otel-collector:4318, got ${JSON.stringify(value)}`;
}

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Runs `fn` inside a new active span (a child of the active one): spans started and NATS
 * messages sent within `fn` belong to it. A thrown error is recorded on the span, the span's
 * status becomes ERROR and the error is rethrown; otherwise the status is OK.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => T | Promise<T>,
  options: SpanOptions = {},
): Promise<T> {
  return tracer().startActiveSpan(name, { ...options, attributes: { ...options.attributes, ...attributes } }, async (span) => {
    try {
      const result = await fn(span);
      span.setStatus({ code: SpanStatusCode.OK });
      return result;
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Continues the trace of an incoming message: runs `fn` in a new span (kind CONSUMER unless
 * `options.kind` says otherwise) whose parent is the remote span named by `traceparent`. A missing
 * or invalid `traceparent` starts a new trace, as the W3C spec asks.
 */
export function withRemoteParent<T>(
  traceparent: string | undefined,
  name: string,
  attributes: Attributes,
  fn: (span: Span) => T | Promise<T>,
  options: SpanOptions = {},
): Promise<T> {
  return context.with(remoteContext(traceparent), () => withSpan(name, attributes, fn, { kind: SpanKind.CONSUMER, ...options }));
}

// The bus always speaks W3C Trace Context, whatever OTEL_PROPAGATORS configures for HTTP.
const w3c = new W3CTraceContextPropagator();

/** The context whose (remote) span is the one `traceparent` names; the root context when invalid. */
export function remoteContext(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  return w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
}

/** The active span's `traceparent`, or undefined when no span is active. */
export function activeTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  w3c.inject(context.active(), carrier, defaultTextMapSetter);
  return carrier['traceparent'];
}

/** The active span's ids for log lines (`trace_id`, `span_id`), or undefined outside a span. */
export function activeTraceIds(): { readonly trace_id: string; readonly span_id: string } | undefined {
  const spanContext = trace.getSpanContext(context.active());
  if (spanContext === undefined || !trace.isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/** `MessageBus` trace source: outgoing messages carry the active span's `traceparent`. */
export const otelTraceContext: TraceContext = { activeTraceparent };

/**
 * `MessageBusOptions.runInContext`: runs each handler with the caller's span as the (remote)
 * active parent, so `withSpan` in a handler continues the caller's trace and the messages the
 * handler sends carry it on. A message without a valid `traceparent` is handled in the root context
 * (its spans start a trace of their own).
 */
export function otelRunInContext<T>(ctx: MessageContext, fn: () => Promise<T>): Promise<T> {
  return context.with(remoteContext(sentTraceparent(ctx)), fn);
}

/** Both OTel hooks for `new MessageBus(connection, { ...otelBusOptions, logger })`. */
export const otelBusOptions = { traceContext: otelTraceContext, runInContext: otelRunInContext } as const;

function sentTraceparent(ctx: MessageContext): string | undefined {
  // The bus puts a fresh traceparent in the context when the sender sent none or an invalid one;
  // only a header the sender really sent names a span to continue.
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (name.toLowerCase() === 'traceparent') return value === ctx.traceparent ? value : undefined;
  }
  return undefined;
}

export interface ModelSpanAttributes {
  readonly id?: string;
  readonly version?: string;
  readonly checksum?: string;
}

/** `model.id`, `model.version`, `model.checksum` for the fields that are known. */
export function modelAttributes(model: ModelSpanAttributes): Attributes {
  const attributes: Record<string, AttributeValue> = {};
  if (model.id !== undefined) attributes[SpanAttributes.modelId] = model.id;
  if (model.version !== undefined) attributes[SpanAttributes.modelVersion] = model.version;
  if (model.checksum !== undefined) attributes[SpanAttributes.modelChecksum] = model.checksum;
  return attributes;
}

/**
 * Runs `fn` in a span continuing the trace `traceparent` names, linked to the span active now:
 * for work caused by two things, e.g. a distribution created by an operator's request (the link)
 * for a model whose upload and validation trace it continues (the parent), so that one trace
 * reads upload → validate → distribute → activate. Without a valid `traceparent` it is a plain
 * child of the active span.
 */
export function withLinkedParent<T>(
  traceparent: string | undefined,
  name: string,
  attributes: Attributes,
  fn: (span: Span) => T | Promise<T>,
  options: SpanOptions = {},
): Promise<T> {
  const parent = trace.getSpanContext(remoteContext(traceparent));
  if (parent === undefined || !trace.isSpanContextValid(parent)) return withSpan(name, attributes, fn, options);
  const caller = trace.getSpanContext(context.active());
  const links = caller !== undefined && trace.isSpanContextValid(caller) ? [{ context: caller }] : [];
  return context.with(trace.setSpanContext(ROOT_CONTEXT, parent), () =>
    withSpan(name, attributes, fn, { ...options, links: [...(options.links ?? []), ...links] }));
}

/**
 * Like `withRemoteParent`, but the span is kept (ended, hence exported) only when `keep(result)`
 * says the work did something, or when it threw. For work polled often that mostly finds nothing
 * to do (the distributor advances each distribution every tick): a span per poll would drown the
 * trace. A span that is not ended is never exported.
 */
export function withRemoteParentIf<T>(
  traceparent: string | undefined,
  name: string,
  attributes: Attributes,
  fn: () => Promise<T>,
  keep: (result: T) => boolean,
): Promise<T> {
  const parent = remoteContext(traceparent);
  const span = tracer().startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent);
  return context.with(trace.setSpan(parent, span), fn).then(
    (result) => {
      if (keep(result)) {
        span.setStatus({ code: SpanStatusCode.OK });
        span.end();
      }
      return result;
    },
    (error: unknown) => {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      span.end();
      throw error;
    },
  );
}

/**
 * Runs `fn` with the span `traceparent` names as the active (remote) one, so that the messages `fn`
 * sends carry it: how a reactor sends on the trace recorded with the event it reacts to. A missing
 * or invalid `traceparent` runs `fn` in the root context.
 */
export function inTraceOf<T>(traceparent: string | undefined, fn: () => T): T {
  return context.with(remoteContext(traceparent), fn);
}

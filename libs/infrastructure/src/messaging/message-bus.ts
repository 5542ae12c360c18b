import {
  headers as natsHeaders,
  Match,
  RequestError,
  TimeoutError,
  NoRespondersError as NatsNoRespondersError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { InvalidReplyError, MessagingError, NoRespondersError, RemoteError, RequestTimeoutError } from './errors.js';
import { newTraceparent, parseTraceparent } from './traceparent.js';
import {
  BAD_REQUEST,
  INTERNAL,
  UNAVAILABLE,
  type AnyValidator,
  type MessageContext,
  type MessagingLogger,
  type ReplyEnvelope,
  type ReplyError,
  type TraceContext,
  type ValidatedBy,
  type Validator,
} from './types.js';

export const TRACEPARENT_HEADER = 'traceparent';

export interface MessageBusOptions {
  /** Where the active `traceparent` comes from; without one every outgoing message starts a trace. */
  readonly traceContext?: TraceContext;
  /** Receives refused payloads (warn) and handler failures (error); defaults to the console. */
  readonly logger?: MessagingLogger;
  /**
   * Wraps the validation and handler of every message `handle`/`subscribe` receive, e.g. to make
   * the sender's span the active parent (`otelRunInContext` in observability/). Default: runs `fn`.
   */
  readonly runInContext?: <T>(ctx: MessageContext, fn: () => Promise<T>) => Promise<T>;
}

export interface BusSendOptions {
  /** Extra headers; `traceparent` is set by the bus. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface BusRequestOptions<TRes> extends BusSendOptions {
  /** How long to wait for the reply, in milliseconds. */
  readonly timeoutMs: number;
  /** Checks the reply's `result` (e.g. a device checking the control plane's answer). */
  readonly validate?: Validator<TRes>;
  /**
   * `false` for the device plane, whose replies are bare JSON (a `CommandAck`, a `SyncReply`)
   * rather than `{ ok, result }`: devices speak only the device-plane contracts. Default true.
   */
  readonly envelope?: boolean;
}

/**
 * Bounds the handlers one subscription runs at once. A burst from a whole fleet (10 000 devices
 * registering or reporting together) would otherwise start every handler at once: their database
 * queries and event-store reads queue in front of everything else the service does, including the
 * projection their read-your-writes waits for. Messages over `maxConcurrent` wait in order; over
 * `maxQueued` waiting, a request is answered `UNAVAILABLE` (the sender retries later) and a
 * fire-and-forget message is dropped and counted in the log.
 */
export interface BusConcurrencyLimit {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
}

/** The handler's value type is inferred from `validate` (e.g. `validateWith(Dto)` gives `Dto`). */
export interface BusHandleOptions<V extends AnyValidator, R> {
  /** Queue group: each message goes to one member of the group (services scaled out). */
  readonly queue?: string;
  readonly validate: V;
  /**
   * `false` answers with the bare result (device plane), or `{ error: { code, message } }` when
   * the request failed. Default true: `{ ok: true, result }` / `{ ok: false, error }`.
   */
  readonly envelope?: boolean;
  /** Its result becomes `{ ok: true, result }`; an error with a string `code` keeps that code. */
  readonly handler: (value: ValidatedBy<V>, ctx: MessageContext) => R | Promise<R>;
  /** Default: no limit, every message is handled at once. */
  readonly limit?: BusConcurrencyLimit;
}

export interface BusSubscribeOptions<V extends AnyValidator> {
  readonly queue?: string;
  readonly validate: V;
  readonly handler: (value: ValidatedBy<V>, ctx: MessageContext) => void | Promise<void>;
  /** Default: no limit, every message is handled at once. */
  readonly limit?: BusConcurrencyLimit;
}

export interface BusSubscription {
  readonly subject: string;
  /** Stops receiving; resolves once the messages already received have been handled. */
  close(): Promise<void>;
}

const consoleLogger: MessagingLogger = {
  warn: (message, fields) => console.warn(message, fields ?? {}),
  error: (message, fields) => console.error(message, fields ?? {}),
};

type Outcome<T> = ReplyEnvelope<T> & { readonly logged?: boolean };

/**
 * JSON messages over core NATS with W3C trace context in headers. Requests get an
 * `{ ok, result | error }` envelope; handlers validate every payload before running, and one bad
 * message or throwing handler never stops a subscription. Messages are handled concurrently.
 */
export class MessageBus {
  private readonly traceContext: TraceContext | undefined;
  private readonly logger: MessagingLogger;
  private readonly runInContext: <T>(ctx: MessageContext, fn: () => Promise<T>) => Promise<T>;

  constructor(
    readonly connection: NatsConnection,
    options: MessageBusOptions = {},
  ) {
    this.traceContext = options.traceContext;
    this.logger = options.logger ?? consoleLogger;
    this.runInContext = options.runInContext ?? ((_ctx, fn) => fn());
  }

  /**
   * Sends `payload` and returns the reply's `result`.
   * @throws RemoteError (`{ ok: false }` reply), NoRespondersError, RequestTimeoutError,
   *   InvalidReplyError, MessagingError (anything else, with the NATS error as cause)
   */
  async request<TReq, TRes>(subject: string, payload: TReq, options: BusRequestOptions<TRes>): Promise<TRes> {
    const { timeoutMs } = options;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 1) {
      throw new RangeError(`timeoutMs must be at least 1, got ${timeoutMs}`);
    }
    let msg: Msg;
    try {
      msg = await this.connection.request(subject, encode(payload), {
        timeout: timeoutMs,
        headers: this.outgoingHeaders(options.headers),
      });
    } catch (error) {
      throw requestFailure(subject, timeoutMs, error);
    }

    let reply: unknown;
    try {
      reply = JSON.parse(msg.string());
    } catch (error) {
      throw new InvalidReplyError(subject, `not JSON (${(error as Error).message})`, { cause: error });
    }
    if (options.envelope === false || (isRecord(reply) && reply['ok'] === true)) {
      const result = options.envelope === false ? reply : (reply as Record<string, unknown>)['result'];
      if (options.validate === undefined) return result as TRes;
      const checked = await options.validate(result);
      if (!checked.ok) throw new InvalidReplyError(subject, checked.reason);
      return checked.value;
    }
    if (isRecord(reply) && reply['ok'] === false && isReplyError(reply['error'])) {
      const { code, message, details } = reply['error'];
      throw new RemoteError(subject, code, message, details);
    }
    throw new InvalidReplyError(subject, 'expected { ok: true, result } or { ok: false, error: { code, message } }');
  }

  /** Fire-and-forget JSON message (events, heartbeats, telemetry). */
  publish<T>(subject: string, payload: T, options: BusSendOptions = {}): void {
    this.connection.publish(subject, encode(payload), { headers: this.outgoingHeaders(options.headers) });
  }

  /**
   * Serves requests on `subject`. Malformed JSON and payloads the validator refuses are answered
   * `BAD_REQUEST` with the reason; handler errors become their `code` or `INTERNAL`.
   * Resolves once the server has registered the subscription.
   */
  async handle<V extends AnyValidator, R>(subject: string, options: BusHandleOptions<V, R>): Promise<BusSubscription> {
    const busy = (msg: Msg, waiting: number): void => {
      if (msg.reply === undefined || msg.reply === '') return;
      const error: ReplyError = { code: UNAVAILABLE, message: `${subject} is busy: ${waiting} messages are waiting; try again later` };
      msg.respond(JSON.stringify(options.envelope === false ? { error } : { ok: false, error }), { headers: traceHeaders(contextOf(msg).traceparent) });
    };
    return this.listen(subject, options.queue, options.limit, busy, async (msg) => {
      const ctx = contextOf(msg);
      let outcome: Outcome<R> = await this.runInContext(ctx, () => this.process(msg, ctx, options.validate, options.handler));
      if (msg.reply === undefined || msg.reply === '') {
        if (!outcome.ok && !outcome.logged) this.logFailure('request without a reply subject failed', ctx, outcome);
        return;
      }
      let data: string;
      try {
        const { logged: _logged, ...envelope } = outcome;
        data = JSON.stringify(options.envelope === false ? (envelope.ok ? envelope.result : { error: envelope.error }) : envelope);
      } catch (error) {
        outcome = { ok: false, error: { code: INTERNAL, message: `the reply could not be encoded: ${(error as Error).message}` } };
        data = JSON.stringify(outcome);
      }
      if (!outcome.ok && !outcome.logged && outcome.error.code === INTERNAL) {
        this.logFailure('handler failed', ctx, outcome);
      }
      msg.respond(data, { headers: traceHeaders(ctx.traceparent) });
    });
  }

  /** Consumes fire-and-forget messages with the same validation and logging as `handle`, no reply. */
  async subscribe<V extends AnyValidator>(subject: string, options: BusSubscribeOptions<V>): Promise<BusSubscription> {
    let dropped = 0;
    const drop = (msg: Msg, waiting: number): void => {
      // The first drop and every thousandth: a flood must not turn into a flood of log lines.
      if (dropped++ % 1000 === 0) this.logger.warn('dropped messages: too many waiting', { subject: msg.subject, waiting, dropped });
    };
    return this.listen(subject, options.queue, options.limit, drop, async (msg) => {
      const ctx = contextOf(msg);
      const outcome = await this.runInContext(ctx, () => this.process(msg, ctx, options.validate, options.handler));
      if (!outcome.ok && !outcome.logged) this.logFailure('handler failed', ctx, outcome);
    });
  }

  /** Resolves once the server has processed everything sent so far. */
  async flush(): Promise<void> {
    await this.connection.flush();
  }

  private async listen(
    subject: string,
    queue: string | undefined,
    limit: BusConcurrencyLimit | undefined,
    onOverflow: (msg: Msg, waiting: number) => void,
    onMessage: (msg: Msg) => Promise<void>,
  ): Promise<BusSubscription> {
    if (limit !== undefined) assertLimit(subject, limit);
    const inFlight = new Set<Promise<void>>();
    const waiting: Msg[] = [];
    const start = (msg: Msg): void => {
      const done = onMessage(msg)
        .catch((error: unknown) => {
          this.logger.error('message dispatch failed', { subject: msg.subject, error: messageOf(error) });
        })
        .finally(() => {
          inFlight.delete(done);
          const next = waiting.shift();
          if (next !== undefined) start(next);
        });
      inFlight.add(done);
    };
    const sub: Subscription = this.connection.subscribe(subject, {
      queue,
      // A callback per message, not an awaited loop, so that handlers run concurrently.
      callback: (err, msg) => {
        if (err !== null) {
          this.logger.error('subscription error', { subject, error: err.message });
          return;
        }
        if (limit === undefined || inFlight.size < limit.maxConcurrent) start(msg);
        else if (waiting.length < limit.maxQueued) waiting.push(msg);
        else onOverflow(msg, waiting.length);
      },
    });
    await this.connection.flush();
    return {
      subject,
      close: async () => {
        if (!sub.isClosed() && !this.connection.isClosed()) await sub.drain();
        // Each handler that ends starts a waiting message: wait until both are empty.
        while (inFlight.size > 0) await Promise.all([...inFlight]);
      },
    };
  }

  private async process<T, R>(
    msg: Msg,
    ctx: MessageContext,
    validate: Validator<T>,
    handler: (value: T, ctx: MessageContext) => R | Promise<R>,
  ): Promise<Outcome<R>> {
    let payload: unknown;
    try {
      payload = msg.data.length === 0 ? undefined : JSON.parse(msg.string());
    } catch (error) {
      return this.badRequest(ctx, `malformed JSON: ${messageOf(error)}`);
    }
    let checked;
    try {
      checked = await validate(payload);
    } catch (error) {
      return { ok: false, error: { code: INTERNAL, message: `validation failed: ${messageOf(error)}` } };
    }
    if (!checked.ok) return this.badRequest(ctx, checked.reason);
    try {
      return { ok: true, result: await handler(checked.value, ctx) };
    } catch (error) {
      return { ok: false, error: replyErrorOf(error) };
    }
  }

  private badRequest(ctx: MessageContext, reason: string): Outcome<never> {
    this.logger.warn('refused message', { subject: ctx.subject, traceparent: ctx.traceparent, reason });
    return { ok: false, error: { code: BAD_REQUEST, message: reason }, logged: true };
  }

  private logFailure(what: string, ctx: MessageContext, outcome: { readonly error: ReplyError }): void {
    this.logger.error(what, {
      subject: ctx.subject,
      traceparent: ctx.traceparent,
      code: outcome.error.code,
      error: outcome.error.message,
    });
  }

  private outgoingHeaders(extra: Readonly<Record<string, string>> = {}): MsgHdrs {
    const active = this.traceContext?.activeTraceparent();
    const traceparent = active !== undefined && parseTraceparent(active) !== undefined ? active : newTraceparent();
    const hdrs = traceHeaders(traceparent);
    for (const [name, value] of Object.entries(extra)) {
      if (name.toLowerCase() !== TRACEPARENT_HEADER) hdrs.set(name, value);
    }
    return hdrs;
  }
}

function encode(payload: unknown): string {
  // JSON.stringify(undefined) is undefined; send `null` so the receiver still gets valid JSON.
  return JSON.stringify(payload) ?? 'null';
}

function traceHeaders(traceparent: string): MsgHdrs {
  const hdrs = natsHeaders();
  hdrs.set(TRACEPARENT_HEADER, traceparent);
  return hdrs;
}

function contextOf(msg: Msg): MessageContext {
  const headers: Record<string, string> = {};
  for (const name of msg.headers?.keys() ?? []) headers[name] = msg.headers?.get(name) ?? '';
  const incoming = msg.headers?.get(TRACEPARENT_HEADER, Match.IgnoreCase);
  const traceparent = incoming !== undefined && parseTraceparent(incoming) !== undefined ? incoming : newTraceparent();
  return { subject: msg.subject, traceparent, headers };
}

function requestFailure(subject: string, timeoutMs: number, error: unknown): MessagingError {
  if (error instanceof TimeoutError) return new RequestTimeoutError(subject, timeoutMs, { cause: error });
  if (
    error instanceof NatsNoRespondersError ||
    (error instanceof RequestError && (error.isNoResponders() || error.cause instanceof NatsNoRespondersError))
  ) {
    return new NoRespondersError(subject, { cause: error });
  }
  return new MessagingError(`request to ${subject} failed: ${messageOf(error)}`, { cause: error });
}

function replyErrorOf(error: unknown): ReplyError {
  const code = isRecord(error) && typeof error['code'] === 'string' && error['code'] !== '' ? error['code'] : INTERNAL;
  const details = isRecord(error) && code !== INTERNAL ? error['details'] : undefined;
  return details === undefined ? { code, message: messageOf(error) } : { code, message: messageOf(error), details };
}

function isReplyError(value: unknown): value is ReplyError {
  return isRecord(value) && typeof value['code'] === 'string' && typeof value['message'] === 'string';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function assertLimit(subject: string, { maxConcurrent, maxQueued }: BusConcurrencyLimit): void {
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError(`${subject}: limit.maxConcurrent must be an integer >= 1, got ${maxConcurrent}`);
  if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError(`${subject}: limit.maxQueued must be an integer >= 0, got ${maxQueued}`);
}

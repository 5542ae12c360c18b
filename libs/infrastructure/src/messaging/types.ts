/** Outcome of checking an incoming payload: the typed value, or why it was refused. */
export type ValidationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/**
 * Checks an untrusted, already JSON-parsed payload. Plug in a class-validator DTO
 * (`validateWith(Dto)`) or a hand-written guard.
 */
export type Validator<T> = (payload: unknown) => ValidationResult<T> | Promise<ValidationResult<T>>;

/** The value type a validator produces on success. */
export type ValidatedBy<V> = V extends Validator<infer T> ? T : never;

/**
 * Constraint for the validator type parameter of `handle`/`subscribe`. `any`, not `unknown`: with
 * `unknown` TypeScript infers an inline `validateWith(Dto)` call from this constraint and the
 * handler's value becomes `unknown` instead of `Dto`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyValidator = Validator<any>;

/** The error part of a reply; `code` is `BAD_REQUEST`, `INTERNAL` or a domain code (`NOT_FOUND`, `CONFLICT`...). */
export interface ReplyError {
  readonly code: string;
  readonly message: string;
  readonly details?: unknown;
}

/** Every reply `MessageBus.handle` sends. */
export type ReplyEnvelope<R> = { readonly ok: true; readonly result: R } | { readonly ok: false; readonly error: ReplyError };

export interface MessageContext {
  readonly subject: string;
  /** The caller's `traceparent`, or a fresh one when it sent none (or an invalid one). */
  readonly traceparent: string;
  /** All message headers, first value of each. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Source of the active span's `traceparent` (an OpenTelemetry bridge in the apps). */
export interface TraceContext {
  activeTraceparent(): string | undefined;
}

export interface MessagingLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Reply codes the bus itself produces. */
export const BAD_REQUEST = 'BAD_REQUEST';
export const INTERNAL = 'INTERNAL';
/** The service is shedding load (too many messages waiting); the sender should retry later. */
export const UNAVAILABLE = 'UNAVAILABLE';

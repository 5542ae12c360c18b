export { formatValidationErrors, validateWith } from './class-validator.js';
export {
  InvalidReplyError,
  MessagingError,
  NoRespondersError,
  RemoteError,
  RequestTimeoutError,
} from './errors.js';
export {
  MessageBus,
  TRACEPARENT_HEADER,
  type BusSubscription,
  type BusConcurrencyLimit,
  type BusHandleOptions,
  type MessageBusOptions,
  type BusRequestOptions,
  type BusSendOptions,
  type BusSubscribeOptions,
} from './message-bus.js';
export {
  childTraceparent,
  InvalidTraceparentError,
  newTraceparent,
  parseTraceparent,
  type RandomBytes,
  type Traceparent,
} from './traceparent.js';
export {
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
  type ValidationResult,
  type Validator,
} from './types.js';
export { natsTlsConfig, natsTlsFromEnv } from './nats-tls.js';
export { DRAIN_TIMEOUT_MS, drainOrClose, type DrainOutcome } from './drain.js';

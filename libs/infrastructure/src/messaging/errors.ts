/** Base class of the errors `MessageBus.request` throws, so callers can catch them as one family. */
export class MessagingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The responder answered `{ ok: false, error }`: a rejection by the remote service. `message` is
 * the remote message as sent, so an edge can show it as it is.
 */
export class RemoteError extends MessagingError {
  constructor(
    readonly subject: string,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Nobody subscribes to the subject (the server answered 503 at once). */
export class NoRespondersError extends MessagingError {
  constructor(
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`no responders for ${subject}`, options);
  }
}

export class RequestTimeoutError extends MessagingError {
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`request to ${subject} timed out after ${timeoutMs} ms`, options);
  }
}

/** The reply is not JSON, not a `{ ok, result | error }` envelope, or its result failed validation. */
export class InvalidReplyError extends MessagingError {
  constructor(
    readonly subject: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`invalid reply from ${subject}: ${reason}`, options);
  }
}

/** How the edge maps a domain error: NOT_FOUND → 404, CONFLICT → 409, BAD_REQUEST → 400. */
export type DomainErrorCode = 'NOT_FOUND' | 'CONFLICT' | 'BAD_REQUEST';

/** Base of every broken domain rule, so the edge can catch the family and map `code`. */
export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The aggregate the command addresses does not exist. */
export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
}

/** The command would create an aggregate that already exists. */
export class AlreadyExistsError extends DomainError {
  readonly code = 'CONFLICT' as const;
}

/** The aggregate exists but its current state forbids the command. */
export class IllegalStateError extends DomainError {
  readonly code = 'CONFLICT' as const;
}

/** The command itself is malformed or breaks a rule that does not depend on state. */
export class InvalidCommandError extends DomainError {
  readonly code = 'BAD_REQUEST' as const;
}

import { InvalidCommandError } from './errors.js';

/** What every command carries besides its data: the edge's clock reading, as an ISO 8601 string. */
export interface CommandMetadata {
  readonly now: string;
}

/** A request to change an aggregate, named in the imperative (`UploadModel`). */
export interface Command<Type extends string, Data> {
  readonly type: Type;
  readonly data: Data;
  readonly metadata: CommandMetadata;
}

/** An aggregate as three pure functions (Emmett's decider). */
export interface Decider<C, E, S> {
  /** Decides which events the command causes; throws a `DomainError` when it breaks a rule. */
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initialState(): S;
}

/** Rebuilds state by applying `events` in order, from `state` or the decider's initial state. */
export function foldEvents<S, E>(
  decider: Pick<Decider<unknown, E, S>, 'evolve' | 'initialState'>,
  events: Iterable<E>,
  state: S = decider.initialState(),
): S {
  let current = state;
  for (const event of events) current = decider.evolve(current, event);
  return current;
}

/**
 * The `default` of an exhaustive command switch: unreachable for typed callers, but commands also
 * arrive from untyped edges, so an unknown type is a bad request rather than a crash.
 */
export function unknownCommand(command: never): never {
  const type = (command as { readonly type?: unknown } | null | undefined)?.type;
  throw new InvalidCommandError(`unknown command type ${JSON.stringify(type)}`);
}

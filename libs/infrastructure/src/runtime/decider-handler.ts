import { EVENT_SCHEMA_VERSIONS, type EventMetadata, type HotSwapEventType } from '@hotswap/contracts';
import { ConcurrencyError, type EventStore, type StoredEvent } from '../event-store/event-store.port.js';

/** The shape of a domain decider (see libs/domain): pure decide / evolve / initialState. */
export interface DeciderLike<Command, Event extends { type: string; data: unknown }, State> {
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

export interface CommandContext {
  /** Who asked (JWT subject, device id, or `system:<service>`). */
  readonly actor: string;
  readonly traceparent?: string;
  /** ISO 8601; the command's `metadata.now`. */
  readonly now: string;
}

export interface HandledCommand<Event> {
  readonly events: readonly Event[];
  /** Global position of the commit, when anything was appended: the read-your-writes mark. */
  readonly position?: bigint;
  readonly nextVersion: number;
}

export interface HandleOptions {
  /** How often a concurrency conflict is retried by re-reading and re-deciding. */
  readonly maxAttempts?: number;
  readonly commitId?: string;
}

/**
 * Runs one command against one aggregate stream: read, fold, decide, append with the expected
 * version. A conflict is retried by re-reading and re-deciding, never by overwriting.
 */
export async function handleCommand<Command, Event extends { type: string; data: unknown }, State>(
  store: EventStore,
  stream: string,
  decider: DeciderLike<Command, Event, State>,
  command: Command | ((state: State) => Command),
  context: CommandContext,
  options: HandleOptions = {},
): Promise<HandledCommand<Event>> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(stream);
    const state = history.reduce((s, e) => decider.evolve(s, toDomainEvent<Event>(e)), decider.initialState());
    const cmd = typeof command === 'function' ? (command as (state: State) => Command)(state) : command;
    const events = decider.decide(cmd, state);
    if (events.length === 0) return { events, nextVersion: history.length };
    try {
      const result = await store.append(
        stream,
        events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown>, metadata: eventMetadata(e.type, context) })),
        history.length,
        options.commitId ? { commitId: options.commitId } : undefined,
      );
      return { events, position: result.position, nextVersion: result.nextVersion };
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= maxAttempts) throw error;
    }
  }
}

/** Folds a stream into the aggregate's state. */
export async function loadState<Event extends { type: string; data: unknown }, State>(
  store: EventStore,
  stream: string,
  decider: Pick<DeciderLike<never, Event, State>, 'evolve' | 'initialState'>,
): Promise<{ state: State; version: number }> {
  const history = await store.readStream(stream);
  return {
    state: history.reduce((s, e) => decider.evolve(s, toDomainEvent<Event>(e)), decider.initialState()),
    version: history.length,
  };
}

export function toDomainEvent<Event>(stored: StoredEvent): Event {
  return { type: stored.type, data: stored.data } as Event;
}

function eventMetadata(type: string, context: CommandContext): Record<string, unknown> {
  const metadata: EventMetadata = {
    schemaVersion: EVENT_SCHEMA_VERSIONS[type as HotSwapEventType] ?? 1,
    actor: context.actor,
    occurredAt: context.now,
    ...(context.traceparent ? { traceparent: context.traceparent } : {}),
  };
  return { ...metadata };
}

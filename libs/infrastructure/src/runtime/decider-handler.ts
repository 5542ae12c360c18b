import { EVENT_SCHEMA_VERSIONS, type EventMetadata, type HotSwapEventType } from '@hotswap/contracts';
import { ConcurrencyError, CorruptCommitError, type EventStore, type StoredEvent } from '../event-store/event-store.port.js';
import { activeTraceparent } from '../observability/tracing.js';

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

export interface HandleOptions<State = unknown> {
  /** How often a concurrency conflict is retried by re-reading and re-deciding. */
  readonly maxAttempts?: number;
  readonly commitId?: string;
  /**
   * Folded states by stream: only the events after the cached version are read. For aggregates a
   * process commands often (a distribution is advanced every second): folding its whole stream
   * each time would cost O(events) per command.
   */
  readonly cache?: StateCache<State>;
}

/** Folded aggregate states by stream name, with the stream version they reflect. */
export class StateCache<State> {
  private readonly entries = new Map<string, { state: State; version: number }>();
  /** @param maxEntries the least recently used streams are dropped beyond this many */
  constructor(private readonly maxEntries = 1000) {}
  get(stream: string): { state: State; version: number } | undefined {
    const entry = this.entries.get(stream);
    if (entry !== undefined) {
      this.entries.delete(stream);
      this.entries.set(stream, entry);
    }
    return entry;
  }
  set(stream: string, state: State, version: number): void {
    this.entries.delete(stream);
    this.entries.set(stream, { state, version });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
  delete(stream: string): void {
    this.entries.delete(stream);
  }
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
  options: HandleOptions<State> = {},
): Promise<HandledCommand<Event>> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const { state, version } = await loadState(store, stream, decider, options.cache);
    const cmd = typeof command === 'function' ? (command as (state: State) => Command)(state) : command;
    const events = decider.decide(cmd, state);
    if (events.length === 0) return { events, nextVersion: version };
    try {
      const result = await store.append(
        stream,
        events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown>, metadata: eventMetadata(e.type, context) })),
        version,
        options.commitId ? { commitId: options.commitId } : undefined,
      );
      options.cache?.set(stream, events.reduce(decider.evolve, state), result.nextVersion);
      return { events, position: result.position, nextVersion: result.nextVersion };
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= maxAttempts) throw error;
    }
  }
}

/** One command of a batch, with who sent it. */
export interface BatchedCommand<Command> {
  readonly command: Command;
  readonly context: CommandContext;
}

/** What became of one command of a batch: its events (none when it changed nothing), or why the decider refused it. */
export type BatchOutcome<Event> = { readonly ok: true; readonly events: readonly Event[] } | { readonly ok: false; readonly error: unknown };

export interface HandledBatch<Event> {
  /** One per command, in order. */
  readonly outcomes: ReadonlyArray<BatchOutcome<Event>>;
  readonly position?: bigint;
  readonly nextVersion: number;
}

/**
 * Runs several commands against one stream as one decision: each is decided on the state the
 * ones before it leave, one the decider refuses fails alone, and the events of all go into one
 * append (one commit, one expected version, each event with its own command's metadata). Many
 * small commands to one busy stream (a rollout's device reports) then cost one read, one append
 * and one conflict check in all, instead of one each: writers on one stream stop racing each other.
 * A conflict re-decides the whole batch on the new state.
 */
export async function handleCommands<Command, Event extends { type: string; data: unknown }, State>(
  store: EventStore,
  stream: string,
  decider: DeciderLike<Command, Event, State>,
  batch: ReadonlyArray<BatchedCommand<Command>>,
  options: Omit<HandleOptions<State>, 'commitId'> = {},
): Promise<HandledBatch<Event>> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const loaded = await loadState(store, stream, decider, options.cache);
    let state = loaded.state;
    const outcomes: Array<BatchOutcome<Event>> = [];
    const appended: Array<{ event: Event; context: CommandContext }> = [];
    for (const { command, context } of batch) {
      try {
        const events = decider.decide(command, state);
        state = events.reduce(decider.evolve, state);
        outcomes.push({ ok: true, events });
        for (const event of events) appended.push({ event, context });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    if (appended.length === 0) return { outcomes, nextVersion: loaded.version };
    try {
      const result = await store.append(
        stream,
        appended.map(({ event, context }) => ({ type: event.type, data: event.data as Record<string, unknown>, metadata: eventMetadata(event.type, context) })),
        loaded.version,
      );
      options.cache?.set(stream, state, result.nextVersion);
      return { outcomes, position: result.position, nextVersion: result.nextVersion };
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
  cache?: StateCache<State>,
): Promise<{ state: State; version: number }> {
  const cached = cache?.get(stream);
  const from = cached?.version ?? 0;
  const history = await store.readStream(stream, from > 0 ? { fromVersion: from + 1 } : undefined);
  // The version is counted from the cached one: a history that does not continue it one by one
  // would leave a state that misses or repeats events while appends at that version still pass.
  const gap = history.findIndex((e, i) => e.streamVersion !== from + 1 + i);
  if (gap >= 0) {
    throw new CorruptCommitError(`stream ${stream}: event ${gap} read after version ${from} has version ${history[gap]!.streamVersion}`, history[gap]!.position);
  }
  const state = history.reduce((s, e) => decider.evolve(s, toDomainEvent<Event>(e)), cached?.state ?? decider.initialState());
  const version = from + history.length;
  if (cache !== undefined && history.length > 0) cache.set(stream, state, version);
  return { state, version };
}

export function toDomainEvent<Event>(stored: StoredEvent): Event {
  return { type: stored.type, data: stored.data } as Event;
}

function eventMetadata(type: string, context: CommandContext): Record<string, unknown> {
  // Without one given, the active span (e.g. `distribution.execute`) is the cause the event records.
  const traceparent = context.traceparent ?? activeTraceparent();
  const metadata: EventMetadata = {
    schemaVersion: EVENT_SCHEMA_VERSIONS[type as HotSwapEventType] ?? 1,
    actor: context.actor,
    occurredAt: context.now,
    ...(traceparent ? { traceparent } : {}),
  };
  return { ...metadata };
}

/**
 * The default event store: one JetStream stream, `HOTSWAP_EVENTS`, holding every commit.
 *
 * - Stream `<aggregate>-<id>` lives on subject `hotswap.events.<aggregate>.<id>` (both parts
 *   pass through `encodeSubjectToken`, so ids with dots stay one token).
 * - One message per commit: a JSON envelope with all events of one `append`, so multi-event
 *   decisions are atomic. Its stream sequence is the commit's global `position`.
 * - Optimistic concurrency: the last message on the subject tells the stream version (its
 *   envelope's `firstVersion` + event count - 1) and its sequence; the publish carries that
 *   sequence as `Nats-Expected-Last-Subject-Sequence` (0 = no message yet), so a commit based on a
 *   stale version makes JetStream refuse it (err_code 10071 → ConcurrencyError).
 * - That header alone does not serialize concurrent commits on a replicated stream: a clustered
 *   stream leader checks it before proposing, against what it has applied, so two commits in
 *   flight with the same expected sequence are both stored (nats-server#4320; nats-server 2.9.10
 *   stores both in most such races), two commits claiming the same versions. So each commit also
 *   claims its version slot: `Nats-Msg-Id` = `<subject>@<firstVersion>`. Message-id dedupe is
 *   applied by every replica in log order, so only the first commit for a slot is stored; the
 *   other is acked as a duplicate of it, and a duplicate holding another commit id is a lost race
 *   (→ ConcurrencyError). Dedupe lasts the stream's duplicate window (`duplicateWindowMs`, default
 *   2 minutes), far longer than any commit stays in flight; later the header check suffices.
 * - Idempotency: a retried append whose version slot holds its own commit id returns the original
 *   result and stores nothing. One whose version has moved on finds its earlier commit: with an
 *   explicit expected version the stream is searched for the commit id; with `'any'` only the
 *   stream's last commit is looked at.
 */
import {
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { findCommit, validateAppend } from './commit.js';
import {
  ConcurrencyError,
  CorruptCommitError,
  EventStoreUnavailableError,
  InvalidAppendError,
  InvalidStreamNameError,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type StoredEvent,
  type SubscribeAllOptions,
  type Subscription,
} from './event-store.port.js';
import { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX, encodeSubjectToken } from '@hotswap/contracts';

/** The message body of one commit. */
export interface CommitEnvelope {
  readonly commitId: string;
  readonly stream: string;
  readonly events: readonly NewEvent[];
  /** ISO 8601 time of the append. */
  readonly recordedAt: string;
  /** Stream version of the first event in this commit (1-based). */
  readonly firstVersion: number;
}

export interface JetStreamEventStoreOptions {
  /** Storage replicas of the stream when this store creates it. Default 1. */
  readonly replicas?: number;
  /** How long JetStream remembers a commit id to drop a repeated append, in ms. Default 120000. */
  readonly duplicateWindowMs?: number;
  /** Timeout of each JetStream request (publish ack, message get, consumer create), in ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Wait before re-creating a subscription's consumer after it broke, in ms. Default 500. */
  readonly retryDelayMs?: number;
  /** Clock for `recordedAt`. Default: the system clock. */
  readonly now?: () => Date;
}

export interface JetStreamEventStoreConnectOptions extends JetStreamEventStoreOptions {
  /** NATS server URL(s). */
  readonly servers: string | string[];
  /**
   * Extra NATS connection options (auth, name...). By default the connection reconnects forever
   * (`maxReconnectAttempts: -1`) every 500 ms, so the store survives a nats-server restart.
   */
  readonly connection?: Partial<NodeConnectionOptions>;
}

// With expectedVersion 'any', a lost race is retried by re-reading, at most this many times.
const MAX_ANY_ATTEMPTS = 20;
const WRONG_LAST_SEQUENCE_CODES = new Set([10071, 10164]);
// Consumer notifications after which a subscription re-creates its consumer.
const RESTART_ON = new Set(['consumer_not_found', 'consumer_deleted', 'stream_not_found', 'heartbeats_missed', 'reset']);

interface LastCommit {
  readonly seq: number;
  readonly version: number;
  readonly commitId: string;
}

export class JetStreamEventStore implements EventStore {
  private readonly js: JetStreamClient;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly now: () => Date;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly ownsConnection: boolean,
    options: JetStreamEventStoreOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.now = options.now ?? (() => new Date());
    this.js = jetstream(nc, { timeout: this.timeoutMs });
  }

  /** Connects to NATS and creates or updates the `HOTSWAP_EVENTS` stream. `close()` closes the connection. */
  static async connect(options: JetStreamEventStoreConnectOptions): Promise<JetStreamEventStore> {
    const nc = await connect({ maxReconnectAttempts: -1, reconnectTimeWait: 500, ...options.connection, servers: options.servers });
    try {
      return await JetStreamEventStore.create(nc, true, options);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** Uses an existing connection, which `close()` leaves open. */
  static fromConnection(nc: NatsConnection, options: JetStreamEventStoreOptions = {}): Promise<JetStreamEventStore> {
    return JetStreamEventStore.create(nc, false, options);
  }

  private static async create(nc: NatsConnection, owns: boolean, options: JetStreamEventStoreOptions): Promise<JetStreamEventStore> {
    const jsm = await jetstreamManager(nc, { timeout: options.timeoutMs ?? 5_000 });
    await ensureStream(jsm, options);
    return new JetStreamEventStore(nc, jsm, owns, options);
  }

  /** The subject of a stream: `hotswap.events.<aggregate>.<id>` from `<aggregate>-<id>`. */
  static subjectOf(stream: string): string {
    const dash = typeof stream === 'string' ? stream.indexOf('-') : -1;
    if (dash <= 0 || dash === stream.length - 1) {
      throw new InvalidStreamNameError(String(stream), 'JetStream streams are named "<aggregate>-<id>"');
    }
    return `${EVENTS_SUBJECT_PREFIX}.${encodeSubjectToken(stream.slice(0, dash))}.${encodeSubjectToken(stream.slice(dash + 1))}`;
  }

  async append(stream: string, events: readonly NewEvent[], expectedVersion: ExpectedVersion, options?: AppendOptions): Promise<AppendResult> {
    const commitId = validateAppend(stream, events, expectedVersion, options);
    const subject = JetStreamEventStore.subjectOf(stream);
    this.assertOpen();
    return this.unavailableAs(`append to ${stream}`, commitId, async () => {
      for (let attempt = 1; ; attempt++) {
        const last = await this.lastCommit(subject);
        const version = last?.version ?? 0;
        if (expectedVersion !== 'any' && version !== expectedVersion) {
          const earlier = options?.commitId ? findCommit(await this.readStream(stream), commitId) : undefined;
          if (earlier) return earlier;
          throw new ConcurrencyError(stream, expectedVersion, version);
        }
        if (expectedVersion === 'any' && options?.commitId && last?.commitId === commitId) return { nextVersion: version, position: BigInt(last.seq) };
        const envelope: CommitEnvelope = {
          commitId,
          stream,
          events: events.map(({ type, data, metadata }) => (metadata === undefined ? { type, data } : { type, data, metadata })),
          recordedAt: this.now().toISOString(),
          firstVersion: version + 1,
        };
        let lostTo: number | undefined;
        try {
          const ack = await this.js.publish(subject, JSON.stringify(envelope), {
            msgID: versionSlotId(subject, version + 1),
            expect: { lastSubjectSequence: last?.seq ?? 0 },
            timeout: this.timeoutMs,
          });
          if (!ack.duplicate) return { nextVersion: version + events.length, position: BigInt(ack.seq) };
          const holder = await this.commitAt(ack.seq);
          if (holder?.[0]?.commitId === commitId) return { nextVersion: holder.at(-1)!.streamVersion, position: BigInt(ack.seq) };
          // Another commit took this version first: it was in flight when our expected sequence was checked.
          lostTo = holder?.at(-1)?.streamVersion;
        } catch (error) {
          if (!(error instanceof JetStreamApiError && WRONG_LAST_SEQUENCE_CODES.has(error.code))) throw error;
          if (expectedVersion === 'any' && attempt < MAX_ANY_ATTEMPTS) continue;
          const actual = await this.lastCommit(subject).then((c) => c?.version ?? 0, () => undefined);
          throw new ConcurrencyError(stream, expectedVersion, actual, { cause: error });
        }
        if (expectedVersion === 'any' && attempt < MAX_ANY_ATTEMPTS) continue;
        throw new ConcurrencyError(stream, expectedVersion, lostTo);
      }
    });
  }

  async readStream(stream: string, options: { fromVersion?: number } = {}): Promise<StoredEvent[]> {
    const subject = JetStreamEventStore.subjectOf(stream);
    const fromVersion = options.fromVersion ?? 1;
    this.assertOpen();
    return this.unavailableAs(`read of ${stream}`, undefined, async () => {
      const last = await this.jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject });
      if (!last) return [];
      const lastEvents = decodeCommit(last.data, last.seq);
      // Most reads need only the last commit (new aggregates, or catching up from a known version).
      const commits = lastEvents[0].streamVersion <= fromVersion ? [lastEvents] : await this.readCommits(subject, last.seq);
      return commits.flat().filter((event) => event.streamVersion >= fromVersion);
    });
  }

  async subscribeAll(options: SubscribeAllOptions): Promise<Subscription> {
    this.assertOpen();
    const subscription = new JetStreamSubscription(this.js, options, this.retryDelayMs, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    try {
      await this.unavailableAs('subscribeAll', undefined, () => subscription.open());
    } catch (error) {
      await subscription.close();
      throw error;
    }
    subscription.run();
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    if (this.ownsConnection) await this.nc.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError('the event store is closed', undefined);
  }

  private async lastCommit(subject: string): Promise<LastCommit | undefined> {
    const msg = await this.jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject });
    if (!msg) return undefined;
    const events = decodeCommit(msg.data, msg.seq);
    return { seq: msg.seq, version: events[events.length - 1].streamVersion, commitId: events[0].commitId };
  }

  /** The events of the commit at stream sequence `seq`, or undefined when it is gone. */
  private async commitAt(seq: number): Promise<StoredEvent[] | undefined> {
    const msg = seq > 0 ? await this.jsm.streams.getMessage(EVENTS_STREAM, { seq }) : null;
    return msg ? decodeCommit(msg.data, msg.seq) : undefined;
  }

  /** Every commit on `subject` up to sequence `lastSeq`, in order, through an ordered consumer. */
  private async readCommits(subject: string, lastSeq: number): Promise<StoredEvent[][]> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM, { filter_subjects: subject });
    const messages = await consumer.consume({ max_messages: 256 });
    const commits: StoredEvent[][] = [];
    // An ordered consumer waits through outages; a read should fail instead of hanging.
    let idle: NodeJS.Timeout | undefined;
    const armIdleTimer = () => {
      clearTimeout(idle);
      idle = setTimeout(() => messages.stop(new Error(`no message within ${this.timeoutMs} ms`)), this.timeoutMs);
    };
    try {
      armIdleTimer();
      for await (const msg of messages) {
        armIdleTimer();
        const commit = decodeCommit(msg.data, msg.seq);
        // Commits claiming versions already taken (stored by a version of this store without
        // version slots, see the top) would be folded twice: refuse to return such a history.
        const expected = (commits.at(-1)?.at(-1)?.streamVersion ?? 0) + 1;
        if (commit[0].streamVersion !== expected) {
          throw new CorruptCommitError(
            `message ${msg.seq} of ${EVENTS_STREAM} holds version ${commit[0].streamVersion} of ${commit[0].stream}, expected ${expected}`,
            BigInt(msg.seq),
          );
        }
        commits.push(commit);
        if (msg.seq >= lastSeq) break;
      }
    } finally {
      clearTimeout(idle);
      messages.stop();
      consumer.delete().catch(() => undefined);
    }
    return commits;
  }

  /** Runs `fn`; a failure other than a definite answer becomes EventStoreUnavailableError. */
  private async unavailableAs<T>(what: string, commitId: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (isDefiniteAnswer(error)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      const outcome = commitId ? `; commit ${commitId} may or may not be stored, retry with the same commitId` : '';
      throw new EventStoreUnavailableError(`${what} failed: JetStream did not answer (${reason})${outcome}`, commitId, { cause: error });
    }
  }
}

function isDefiniteAnswer(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError ||
    error instanceof ConcurrencyError ||
    error instanceof InvalidAppendError ||
    error instanceof InvalidStreamNameError ||
    error instanceof CorruptCommitError ||
    error instanceof EventStoreUnavailableError
  );
}

async function ensureStream(jsm: JetStreamManager, options: JetStreamEventStoreOptions): Promise<void> {
  const subjects = [`${EVENTS_SUBJECT_PREFIX}.>`];
  const duplicateWindowNanos = (options.duplicateWindowMs ?? 120_000) * 1_000_000;
  const existing = await jsm.streams.info(EVENTS_STREAM).catch((error: unknown) => {
    if (error instanceof JetStreamApiError && error.code === 10059) return undefined; // stream not found
    throw error;
  });
  if (!existing) {
    try {
      await jsm.streams.add({
        name: EVENTS_STREAM,
        subjects,
        storage: 'file',
        num_replicas: options.replicas ?? 1,
        duplicate_window: duplicateWindowNanos,
      } as Parameters<JetStreamManager['streams']['add']>[0]);
      return;
    } catch (error) {
      // Another service created it at the same moment: fall through and check its config.
      if (!(error instanceof JetStreamApiError && error.code === 10058)) throw error;
    }
  }
  const config = existing?.config ?? (await jsm.streams.info(EVENTS_STREAM)).config;
  if (!config.subjects?.includes(subjects[0]) || config.duplicate_window !== duplicateWindowNanos) {
    await jsm.streams.update(EVENTS_STREAM, {
      ...config,
      subjects: [...new Set([...(config.subjects ?? []), ...subjects])],
      duplicate_window: duplicateWindowNanos,
    });
  }
}

/** The `Nats-Msg-Id` of the commit that takes version `firstVersion` of the stream on `subject`. */
function versionSlotId(subject: string, firstVersion: number): string {
  return `${subject}@${firstVersion}`;
}

/** The events of one stored commit message. */
export function decodeCommit(data: Uint8Array, seq: number): StoredEvent[] {
  let envelope: CommitEnvelope;
  try {
    envelope = JSON.parse(new TextDecoder().decode(data)) as CommitEnvelope;
  } catch (cause) {
    throw new CorruptCommitError(`message ${seq} of ${EVENTS_STREAM} is not JSON`, BigInt(seq), { cause });
  }
  const valid =
    typeof envelope === 'object' && envelope !== null &&
    typeof envelope.commitId === 'string' &&
    typeof envelope.stream === 'string' &&
    typeof envelope.recordedAt === 'string' &&
    Number.isSafeInteger(envelope.firstVersion) && envelope.firstVersion >= 1 &&
    Array.isArray(envelope.events) && envelope.events.length > 0 &&
    envelope.events.every((e) => typeof e?.type === 'string' && typeof e.data === 'object' && e.data !== null);
  if (!valid) throw new CorruptCommitError(`message ${seq} of ${EVENTS_STREAM} is not a commit envelope`, BigInt(seq));
  const position = BigInt(seq);
  return envelope.events.map((event, index) => ({
    ...event,
    stream: envelope.stream,
    streamVersion: envelope.firstVersion + index,
    position,
    commitId: envelope.commitId,
    recordedAt: envelope.recordedAt,
  }));
}

/**
 * Catch-up then live delivery of all commits through an ordered consumer. The consumer is
 * re-created from the last delivered position whenever it breaks (server restart, outage).
 */
class JetStreamSubscription implements Subscription {
  private position: bigint;
  private consumer: Consumer | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly options: SubscribeAllOptions,
    private readonly retryDelayMs: number,
    private readonly onClosed: () => void,
  ) {
    if (typeof options.fromPosition !== 'bigint' || options.fromPosition < 0n) {
      throw new InvalidAppendError(`subscribeAll: fromPosition must be a bigint >= 0n, got ${String(options.fromPosition)}`);
    }
    this.position = options.fromPosition;
  }

  async open(): Promise<void> {
    this.consumer = await this.js.consumers.get(EVENTS_STREAM, {
      filter_subjects: `${EVENTS_SUBJECT_PREFIX}.>`,
      opt_start_seq: Number(this.position) + 1,
    });
    const messages = await this.consumer.consume({ max_messages: 64 });
    this.messages = messages;
    // nats.js re-creates a lost ordered consumer by itself, but then pulls too few messages and
    // stalls until the pull expires (30 s); starting over from our own position is prompt.
    void (async () => {
      for await (const status of messages.status()) {
        if (RESTART_ON.has(status.type)) messages.stop();
      }
    })();
  }

  run(): void {
    this.loop = (async () => {
      while (!this.closed) {
        try {
          if (!this.messages) await this.open();
          for await (const msg of this.messages!) {
            if (this.closed) break;
            const position = BigInt(msg.seq);
            if (position <= this.position) continue;
            try {
              await this.options.onCommit(decodeCommit(msg.data, msg.seq));
            } catch (error) {
              this.closed = true;
              this.options.onError?.(error);
              break;
            }
            this.position = position;
          }
        } catch {
          // The consumer broke (outage, consumer lost): re-create it below.
        }
        this.release();
        if (!this.closed) await this.pause();
      }
      this.onClosed();
    })();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.release();
    this.wake?.();
    await this.loop;
    this.onClosed();
  }

  /** Stops the consumer and deletes it on the server instead of letting it idle out. */
  private release(): void {
    this.messages?.stop();
    this.consumer?.delete().catch(() => undefined);
    this.messages = undefined;
    this.consumer = undefined;
  }

  private pause(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.retryDelayMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

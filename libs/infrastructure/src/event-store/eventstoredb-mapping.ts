/**
 * Pure mapping between the event store port and EventStoreDB: stream versions ↔ revisions,
 * deterministic event ids for commit dedupe, commit metadata and commit grouping on `$all`.
 */
import { createHash } from 'node:crypto';
import { CorruptCommitError, type ExpectedVersion, type StoredEvent } from './event-store.port.js';

/** Metadata key holding a commit's id, an event's index in it and the commit's size. */
export const COMMIT_METADATA_KEY = 'hotswap:commit';

export interface CommitMarker {
  readonly id: string;
  readonly index: number;
  readonly size: number;
}

/** The slice of an EventStoreDB recorded event the mapping reads. */
export interface EsdbRecordedEvent {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly created: Date;
  readonly isJson: boolean;
  readonly data: unknown;
  readonly metadata?: unknown;
  readonly position?: { readonly commit: bigint; readonly prepare: bigint };
}

// Fixed namespace so the same commit id always yields the same event ids (RFC 4122 v5 scheme).
const NAMESPACE = Buffer.from('6f1c5a8e2b7d4c39a0e4d2b1c8f7e6a5', 'hex');

/**
 * The event id of event `index` of commit `commitId`: a name-based UUID (v5 layout, SHA-1).
 * EventStoreDB deduplicates appends by event id, so a retried commit is stored once.
 */
export function commitEventId(commitId: string, index: number): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${commitId}/${index}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `expectedVersion` as an EventStoreDB expected revision: 0 → no_stream, n → revision n-1. */
export function expectedRevisionOf(expectedVersion: ExpectedVersion): 'any' | 'no_stream' | bigint {
  if (expectedVersion === 'any') return 'any';
  return expectedVersion === 0 ? 'no_stream' : BigInt(expectedVersion - 1);
}

/** An EventStoreDB current revision as a stream version: no_stream → 0, revision r → r+1. */
export function versionOfRevision(revision: unknown): number | undefined {
  if (revision === 'no_stream') return 0;
  return typeof revision === 'bigint' ? Number(revision) + 1 : undefined;
}

export function withCommitMarker(metadata: Record<string, unknown> | undefined, marker: CommitMarker): Record<string, unknown> {
  return { ...metadata, [COMMIT_METADATA_KEY]: marker };
}

function commitMarkerOf(metadata: unknown): CommitMarker | undefined {
  const marker = isRecord(metadata) ? metadata[COMMIT_METADATA_KEY] : undefined;
  return isRecord(marker) && typeof marker['id'] === 'string' && typeof marker['index'] === 'number' && typeof marker['size'] === 'number'
    ? (marker as unknown as CommitMarker)
    : undefined;
}

/**
 * A recorded event as a StoredEvent. Events written by other tools (no commit marker) count as
 * one-event commits whose id is the event id.
 */
export function toStoredEvent(recorded: EsdbRecordedEvent, commitPosition?: bigint): StoredEvent & { readonly commit: CommitMarker } {
  const position = recorded.position?.commit ?? commitPosition;
  if (!recorded.isJson || !isRecord(recorded.data)) {
    throw new CorruptCommitError(`event ${recorded.id} of ${recorded.streamId} does not hold a JSON object`, position);
  }
  const marker = commitMarkerOf(recorded.metadata);
  let metadata: Record<string, unknown> | undefined;
  if (isRecord(recorded.metadata)) {
    const { [COMMIT_METADATA_KEY]: _marker, ...rest } = recorded.metadata;
    metadata = Object.keys(rest).length > 0 ? rest : undefined;
  }
  return {
    type: recorded.type,
    data: recorded.data,
    ...(metadata && { metadata }),
    stream: recorded.streamId,
    streamVersion: Number(recorded.revision) + 1,
    position: position ?? 0n,
    commitId: marker?.id ?? recorded.id,
    recordedAt: recorded.created.toISOString(),
    commit: marker ?? { id: recorded.id, index: 0, size: 1 },
  };
}

/** Drops the internal commit marker. */
export function withoutMarker({ commit: _commit, ...event }: StoredEvent & { readonly commit?: CommitMarker }): StoredEvent {
  return event;
}

/**
 * Regroups the events of `$all` into commits: the events of one append are consecutive and each
 * carries its index and the commit size, so a commit is complete at its last event.
 */
export class CommitGrouper {
  private pending: (StoredEvent & { readonly commit: CommitMarker })[] = [];

  /** Adds an event; returns the completed commit when this event completes one. */
  push(event: StoredEvent & { readonly commit: CommitMarker }): StoredEvent[] | undefined {
    const head = this.pending[0];
    if (head && head.commit.id !== event.commit.id) {
      throw new CorruptCommitError(
        `commit ${head.commit.id} is incomplete (${this.pending.length} of ${head.commit.size} events) before commit ${event.commit.id}`,
        event.position,
      );
    }
    this.pending.push(event);
    if (event.commit.index < event.commit.size - 1) return undefined;
    const commit = this.pending.map(withoutMarker);
    this.pending = [];
    return commit;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

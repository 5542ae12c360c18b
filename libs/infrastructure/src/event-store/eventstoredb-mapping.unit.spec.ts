import { describe, expect, it } from '@jest/globals';
import { CorruptCommitError } from './event-store.port.js';
import {
  COMMIT_METADATA_KEY,
  CommitGrouper,
  commitEventId,
  expectedRevisionOf,
  toStoredEvent,
  versionOfRevision,
  withCommitMarker,
  type EsdbRecordedEvent,
} from './eventstoredb-mapping.js';

const recorded = (overrides: Partial<EsdbRecordedEvent> = {}): EsdbRecordedEvent => ({
  streamId: 'model-a',
  id: '00000000-0000-4000-8000-000000000001',
  revision: 0n,
  type: 'ModelUploaded',
  created: new Date('2030-01-02T03:04:05.000Z'),
  isJson: true,
  data: { name: 'a' },
  metadata: withCommitMarker({ actor: 'alice' }, { id: 'c1', index: 0, size: 1 }),
  position: { commit: 42n, prepare: 42n },
  ...overrides,
});

describe('EventStoreDB mapping', () => {
  it('derives the same UUID-shaped event id from the same commit id and index, and others otherwise', () => {
    const id = commitEventId('commit-1', 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(commitEventId('commit-1', 0)).toBe(id);
    expect(commitEventId('commit-1', 1)).not.toBe(id);
    expect(commitEventId('commit-2', 0)).not.toBe(id);
  });

  it('maps expected versions to revisions and revisions back to versions', () => {
    expect(expectedRevisionOf('any')).toBe('any');
    expect(expectedRevisionOf(0)).toBe('no_stream');
    expect(expectedRevisionOf(3)).toBe(2n);
    expect(versionOfRevision('no_stream')).toBe(0);
    expect(versionOfRevision(2n)).toBe(3);
    expect(versionOfRevision('stream_exists')).toBeUndefined();
  });

  it('turns a recorded event into a stored event without the commit marker in its metadata', () => {
    expect(toStoredEvent(recorded({ revision: 4n }))).toEqual({
      type: 'ModelUploaded',
      data: { name: 'a' },
      metadata: { actor: 'alice' },
      stream: 'model-a',
      streamVersion: 5,
      position: 42n,
      commitId: 'c1',
      recordedAt: '2030-01-02T03:04:05.000Z',
      commit: { id: 'c1', index: 0, size: 1 },
    });
    expect(toStoredEvent(recorded({ metadata: { [COMMIT_METADATA_KEY]: { id: 'c1', index: 0, size: 1 } } })).metadata).toBeUndefined();
  });

  it('treats an event written by another tool as a one-event commit named by its event id', () => {
    const event = toStoredEvent(recorded({ metadata: undefined, position: undefined }), 7n);
    expect(event).toMatchObject({ commitId: recorded().id, position: 7n, commit: { index: 0, size: 1 } });
  });

  it('refuses an event whose data is not a JSON object', () => {
    expect(() => toStoredEvent(recorded({ isJson: false, data: new Uint8Array([1]) }))).toThrow(CorruptCommitError);
  });

  it('regroups consecutive events into their commits', () => {
    const grouper = new CommitGrouper();
    const part = (id: string, index: number, size: number) =>
      toStoredEvent(recorded({ metadata: withCommitMarker(undefined, { id, index, size }), revision: BigInt(index) }));
    expect(grouper.push(part('c1', 0, 2))).toBeUndefined();
    expect(grouper.push(part('c1', 1, 2))?.map((e) => [e.commitId, e.streamVersion])).toEqual([['c1', 1], ['c1', 2]]);
    expect(grouper.push(part('c2', 0, 1))).toHaveLength(1);
    grouper.push(part('c3', 0, 2));
    expect(() => grouper.push(part('c4', 0, 1))).toThrow(/commit c3 is incomplete/);
  });
});

/** Rules and helpers every event store adapter shares. */
import { randomUUID } from 'node:crypto';
import {
  InvalidAppendError,
  InvalidStreamNameError,
  type AppendOptions,
  type AppendResult,
  type ExpectedVersion,
  type NewEvent,
  type StoredEvent,
} from './event-store.port.js';

/** Checks the arguments of `append` and returns the commit id to use (the given one or a new UUID). */
export function validateAppend(
  stream: string,
  events: readonly NewEvent[],
  expectedVersion: ExpectedVersion,
  options: AppendOptions | undefined,
): string {
  if (typeof stream !== 'string' || stream.length === 0) throw new InvalidStreamNameError(String(stream), 'it is empty');
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppendError(`append to ${stream}: a commit needs at least one event`);
  }
  events.forEach((event, index) => {
    if (typeof event?.type !== 'string' || event.type.length === 0) {
      throw new InvalidAppendError(`append to ${stream}: event ${index} has no type`);
    }
    if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) {
      throw new InvalidAppendError(`append to ${stream}: event ${index} (${event.type}) needs an object as data`);
    }
  });
  if (expectedVersion !== 'any' && !(Number.isSafeInteger(expectedVersion) && expectedVersion >= 0)) {
    throw new InvalidAppendError(
      `append to ${stream}: expectedVersion must be 'any' or an integer >= 0, got ${String(expectedVersion)}`,
    );
  }
  const commitId = options?.commitId;
  if (commitId !== undefined && (typeof commitId !== 'string' || commitId.length === 0)) {
    throw new InvalidAppendError(`append to ${stream}: commitId must be a non-empty string`);
  }
  return commitId ?? randomUUID();
}

/** The result of an earlier commit with this id, found among a stream's events. */
export function findCommit(events: readonly StoredEvent[], commitId: string): AppendResult | undefined {
  const mine = events.filter((event) => event.commitId === commitId);
  const last = mine.at(-1);
  return last && { nextVersion: last.streamVersion, position: last.position };
}

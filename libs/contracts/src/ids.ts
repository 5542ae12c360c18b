/**
 * Identifiers and their encoding into NATS subject tokens.
 *
 * Model ids are `<name>-<version>` and hold dots (`object-detection-1.2.0`), while a dot separates
 * NATS tokens; this one reversible encoding is used wherever an id becomes a subject token.
 */

/** Model names: letters, digits, `.`, `_`, `-`; starts with a letter or digit. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Device ids double as NATS tokens and KV keys, so they hold no dots. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
/** Semantic version `MAJOR.MINOR.PATCH` with optional pre-release (`-rc.1`) and build (`+sha`). */
export const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export function modelId(name: string, version: string): string {
  return `${name}-${version}`;
}

export class InvalidSubjectTokenError extends Error {
  override readonly name = 'InvalidSubjectTokenError';
}

// `*`, `>` and whitespace are wildcards or protocol separators, `.` separates tokens, and `%` is
// the escape itself: those and control characters become `%XX` per UTF-8 byte (uppercase hex);
// everything else is kept, so typical ids stay readable (`object-detection-1%2E2%2E0`).
const ESCAPED = /[%.*>\s\p{Cc}]/gu;
const utf8 = new TextEncoder();

export function encodeSubjectToken(id: string): string {
  if (id.length === 0) throw new InvalidSubjectTokenError('an empty id cannot be a subject token');
  return id.replace(ESCAPED, (ch) =>
    Array.from(utf8.encode(ch), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

export function decodeSubjectToken(token: string): string {
  if (token.length === 0) throw new InvalidSubjectTokenError('an empty subject token encodes no id');
  // Anything `encodeSubjectToken` escapes may not appear raw, except `%` starting an escape.
  if (/[.*>\s\p{Cc}]/u.test(token)) {
    throw new InvalidSubjectTokenError(`subject token "${token}" holds a character that must be escaped`);
  }
  if (/%(?![0-9A-F]{2})/.test(token)) {
    throw new InvalidSubjectTokenError(`subject token "${token}" holds a "%" not followed by two uppercase hex digits`);
  }
  try {
    return decodeURIComponent(token);
  } catch (cause) {
    throw new InvalidSubjectTokenError(`subject token "${token}" escapes bytes that are not UTF-8`, { cause });
  }
}

/** Why an id is unusable, or undefined when it is fine. */
export function invalidIdReason(kind: 'model name' | 'device id', id: unknown): string | undefined {
  const pattern = kind === 'model name' ? MODEL_NAME_PATTERN : DEVICE_ID_PATTERN;
  if (typeof id !== 'string' || id.length === 0) return `${kind} is required`;
  if (/[*>\s]/.test(id)) return `${kind} "${id}" must not contain "*", ">" or whitespace`;
  if (!pattern.test(id)) return `${kind} "${id}" must match ${pattern.source}`;
  return undefined;
}

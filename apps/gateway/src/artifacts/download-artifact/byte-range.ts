/**
 * HTTP `Range` requests (RFC 9110 §14) for artifact downloads: a single `bytes=` range, so a device
 * can resume an interrupted download.
 */

/** Both ends inclusive, already clamped to the artifact. */
export interface SatisfiableRange {
  readonly start: number;
  readonly end: number;
}

export type RangeDecision =
  /** No usable Range header: send the whole artifact (200). */
  | { readonly kind: 'full' }
  /** Send `start..end` (206 with `Content-Range`). */
  | { readonly kind: 'partial'; readonly range: SatisfiableRange }
  /** The range lies outside the artifact (416 with `Content-Range: bytes *\/size`). */
  | { readonly kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/i;

/**
 * Decides what to send for `header` and an artifact of `sizeBytes` bytes. A header that is not a
 * single well-formed byte range is ignored, as RFC 9110 allows; multiple ranges are answered in full.
 */
export function decideRange(header: string | undefined, sizeBytes: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  const match = SINGLE_RANGE.exec(header.trim().replace(/\s+/g, ''));
  if (match === null) return { kind: 'full' };
  const [, first, last] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    // `bytes=-N`: the last N bytes.
    const suffix = Number(last);
    if (!Number.isSafeInteger(suffix)) return { kind: 'full' };
    if (suffix === 0 || sizeBytes === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, sizeBytes - suffix), end: sizeBytes - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? undefined : Number(last);
  if (!Number.isSafeInteger(start) || (end !== undefined && !(Number.isSafeInteger(end) && end >= start))) {
    return { kind: 'full' };
  }
  if (start >= sizeBytes) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end: Math.min(end ?? sizeBytes - 1, sizeBytes - 1) } };
}

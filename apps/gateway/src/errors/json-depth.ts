import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Deepest nesting of arrays and objects a JSON body may have. class-transformer walks a body
 * recursively, so a deeply nested one (`[[[[…]]]]`, 2 MB of brackets) would overflow the stack and
 * end in a 500; no request of the API comes near this.
 */
export const MAX_JSON_DEPTH = 32;

/** Deepest nesting of a JSON text (strings skipped), or `max + 1` as soon as it goes beyond `max`. */
export function jsonDepth(body: Uint8Array, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < body.length; i += 1) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c) i += 1; // a backslash escapes the next character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x5b || byte === 0x7b) {
      depth += 1;
      if (depth > max) return max + 1;
      deepest = Math.max(deepest, depth);
    } else if (byte === 0x5d || byte === 0x7d) {
      depth -= 1;
    }
  }
  return deepest;
}

/** The JSON body parser's `verify`: a 400 naming the limit for a body nested too deeply. */
export function refuseDeepJson(_request: IncomingMessage, _response: ServerResponse, body: Buffer): void {
  if (jsonDepth(body) > MAX_JSON_DEPTH) {
    // body-parser keeps `status` and `type`; the error filter turns them into a 400 with this message.
    throw Object.assign(new Error(`JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`), { status: 400, type: 'entity.too.deep' });
  }
}

import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonDepth, MAX_JSON_DEPTH, refuseDeepJson } from './json-depth.js';

const bytes = (text: string) => Buffer.from(text);

describe('JSON nesting depth', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(jsonDepth(bytes('1'))).toBe(0);
    expect(jsonDepth(bytes('{"a":[1,{"b":[]}]}'))).toBe(4);
    expect(jsonDepth(bytes('{"a":"[[[[\\"[[[[","b":{}}'))).toBe(2);
  });

  it('stops counting past the limit', () => {
    expect(jsonDepth(bytes('['.repeat(10_000)), 5)).toBe(6);
  });

  it('refuses a body nested too deeply with a 400 naming the limit, and lets the rest through', () => {
    const verify = (text: string) => refuseDeepJson({} as IncomingMessage, {} as ServerResponse, bytes(text));
    expect(() => verify(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).not.toThrow();
    expect(() => verify('['.repeat(MAX_JSON_DEPTH + 1))).toThrow(expect.objectContaining({
      status: 400, type: 'entity.too.deep', message: `JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`,
    }));
  });
});

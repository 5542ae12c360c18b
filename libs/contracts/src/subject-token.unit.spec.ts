import { describe, expect, it } from '@jest/globals';
import { decodeSubjectToken, encodeSubjectToken, InvalidSubjectTokenError } from './ids.js';

describe('subject token encoding', () => {
  it.each([
    ['object-detection-1.2.0', 'object-detection-1%2E2%2E0'],
    ['plain_id-42', 'plain_id-42'],
    ['100%', '100%25'],
    ['a*b>c d\te', 'a%2Ab%3Ec%20d%09e'],
    ['x\u00a0y', 'x%C2%A0y'],
    ['é-ü', 'é-ü'],
  ])('encodes %j as the single token %j and decodes it back', (id, token) => {
    expect(encodeSubjectToken(id)).toBe(token);
    expect(decodeSubjectToken(token)).toBe(id);
  });

  it('never produces a token holding a NATS separator or wildcard', () => {
    const token = encodeSubjectToken('a.b*c>d e\nf\u2028g%h');
    expect(token).not.toMatch(/[.*>\s]/);
    expect(decodeSubjectToken(token)).toBe('a.b*c>d e\nf\u2028g%h');
  });

  it('refuses an empty id', () => {
    expect(() => encodeSubjectToken('')).toThrow(InvalidSubjectTokenError);
  });

  it.each([
    ['', /empty subject token/],
    ['a.b', /must be escaped/],
    ['a%2', /not followed by two uppercase hex digits/],
    ['a%2e', /not followed by two uppercase hex digits/],
    ['a%FF', /not UTF-8/],
  ])('refuses to decode %j', (token, message) => {
    expect(() => decodeSubjectToken(token)).toThrow(InvalidSubjectTokenError);
    expect(() => decodeSubjectToken(token)).toThrow(message);
  });
});

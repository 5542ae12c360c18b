import { describe, expect, it } from '@jest/globals';
import { InvalidCommandError } from './errors.js';
import { compareSemver, isValidSemver, parseSemver, sortVersions } from './semver.js';

describe('semver', () => {
  describe('parsing', () => {
    it('splits a version into its parts, numeric pre-release identifiers as numbers', () => {
      expect(parseSemver('1.20.3-rc.11.x-y+build.007')).toStrictEqual({
        major: 1, minor: 20, patch: 3, prerelease: ['rc', 11, 'x-y'], build: ['build', '007'], raw: '1.20.3-rc.11.x-y+build.007',
      });
    });

    it('parses a plain release with no pre-release or build', () => {
      expect(parseSemver('0.0.0')).toStrictEqual({ major: 0, minor: 0, patch: 0, prerelease: [], build: [], raw: '0.0.0' });
    });

    it.each([
      ['1.0', 'not a semantic version'],
      ['v1.0.0', 'not a semantic version'],
      ['01.0.0', 'not a semantic version'],
      ['1.0.0-01', 'not a semantic version'],
      ['1.0.0-', 'not a semantic version'],
      ['1.0.0+', 'not a semantic version'],
      ['', 'not a semantic version'],
      ['9007199254740992.0.0', 'numeric identifier 9007199254740992'],
      ['1.0.0-rc.9007199254740993', 'numeric identifier 9007199254740993'],
      [`1.0.0-${'a'.repeat(300)}`, 'longer than 256 characters'],
    ])('refuses %j, saying why', (input, fragment) => {
      expect(() => parseSemver(input)).toThrow(InvalidCommandError);
      expect(() => parseSemver(input)).toThrow(fragment);
      expect(isValidSemver(input)).toBe(false);
    });

    it('names the offending string in the error', () => {
      expect(() => parseSemver('1.2')).toThrow('"1.2" is not a semantic version');
    });

    it('refuses a value that is not a string', () => {
      expect(isValidSemver(1)).toBe(false);
      expect(() => parseSemver(undefined as unknown as string)).toThrow('version must be a string, got undefined');
    });

    it.each(['1.0.0', '1.0.0-alpha', '1.0.0-0.3.7', '1.0.0-x.7.z.92', '1.0.0+20130313144700', '1.0.0-beta+exp.sha.5114f85'])(
      'accepts %s',
      (input) => expect(isValidSemver(input)).toBe(true),
    );
  });

  describe('ordering', () => {
    it.each([
      ['1.0.0', '2.0.0', -1],
      ['2.0.0', '2.1.0', -1],
      ['2.1.0', '2.1.1', -1],
      ['1.10.0', '1.9.0', 1],
      ['1.0.0-alpha', '1.0.0', -1],
      ['1.0.0-alpha', '1.0.0-alpha.1', -1],
      ['1.0.0-alpha.1', '1.0.0-alpha.beta', -1],
      ['1.0.0-alpha.beta', '1.0.0-beta', -1],
      ['1.0.0-beta', '1.0.0-beta.2', -1],
      ['1.0.0-beta.2', '1.0.0-beta.11', -1],
      ['1.0.0-beta.11', '1.0.0-rc.1', -1],
      ['1.0.0-rc.1', '1.0.0', -1],
      ['1.0.0-Z', '1.0.0-a', -1],
      ['1.0.0', '1.0.0-rc.1', 1],
      ['1.0.0-1', '1.0.0-alpha', -1],
      ['1.0.0-alpha', '1.0.0-1', 1],
      ['1.0.0+build.1', '1.0.0+build.2', 0],
      ['1.0.0-rc.1+a', '1.0.0-rc.1', 0],
      ['3.2.1', '3.2.1', 0],
    ] as const)('compares %s with %s as %i', (a, b, expected) => {
      expect(compareSemver(a, b)).toBe(expected);
      expect(compareSemver(b, a)).toBe(expected === 0 ? 0 : -expected);
    });

    it('compares parsed versions as well as strings', () => {
      expect(compareSemver(parseSemver('1.0.0-alpha'), '1.0.0-alpha.1')).toBe(-1);
    });

    it('refuses to compare an invalid version', () => {
      expect(() => compareSemver('1.0.0', 'latest')).toThrow('"latest" is not a semantic version');
    });

    it('sorts by precedence, the semver 2.0 example chain included', () => {
      const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.2.0', '10.0.0'];
      const shuffled = [chain[7], chain[3], chain[9], chain[0], chain[5], chain[2], chain[8], chain[1], chain[6], chain[4]];
      expect(sortVersions(shuffled)).toStrictEqual(chain);
      expect(sortVersions(shuffled, 'desc')).toStrictEqual([...chain].reverse());
    });

    it('keeps the input order of versions that differ only in build metadata', () => {
      expect(sortVersions(['1.0.0+b', '0.9.0', '1.0.0+a'])).toStrictEqual(['0.9.0', '1.0.0+b', '1.0.0+a']);
    });

    it('returns a copy and leaves the input alone', () => {
      const input = ['2.0.0', '1.0.0'];
      expect(sortVersions(input)).toStrictEqual(['1.0.0', '2.0.0']);
      expect(input).toStrictEqual(['2.0.0', '1.0.0']);
    });

    it('refuses to sort a list holding an invalid version', () => {
      expect(() => sortVersions(['1.0.0', '1.0'])).toThrow(InvalidCommandError);
    });
  });
});

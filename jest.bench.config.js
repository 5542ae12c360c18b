// Benchmarks: `npm run bench [-- <name>]`. Not part of `npm test`; each prints its figures,
// which docs/BENCHMARKS.md records with the command that produced them.
import { project } from './jest.preset.js';

export default {
  projects: [project('bench', 'test/bench', { testMatch: ['**/*.bench.ts'] })],
  // jest reads the timeout from the global config only, not from a project's.
  testTimeout: 30 * 60_000,
};

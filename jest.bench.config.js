// Benchmarks: `npm run bench [-- <name>]`. Not part of `npm test`; each prints its figures,
// which docs/BENCHMARKS.md records with the command that produced them.
import { project } from './jest.preset.js';

export default {
  projects: [project('bench', 'test/bench', { testMatch: ['**/*.bench.ts'], testTimeout: 30 * 60_000 })],
};

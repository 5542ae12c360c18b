import { project } from './jest.preset.js';

const libs = ['contracts', 'domain', 'infrastructure'];
const apps = ['gateway', 'model-registry', 'validator', 'distributor', 'device-registry', 'monitor', 'edge-agent', 'cli'];

export default {
  projects: [
    ...libs.map((name) => project(name, `libs/${name}`)),
    ...apps.map((name) => project(name, `apps/${name}`)),
    project('e2e', 'test/e2e'),
  ],
  // Integration suites boot real servers on a 2-core machine: give each test room; the specs'
  // own waits bound what they wait for.
  testTimeout: 30_000,
  coverageReporters: ['text-summary', 'lcov', 'json-summary'],
  coverageThreshold: {
    './libs/': { lines: 85, statements: 85, branches: 70 },
    './apps/': { lines: 85, statements: 85, branches: 70 },
  },
};

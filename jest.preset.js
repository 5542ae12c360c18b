// Shared jest settings: the workspace is ESM (NestJS 12 is ESM-only), so ts-jest runs in ESM mode
// and jest must be started with --experimental-vm-modules (see package.json "test").
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export function project(name, dir, extra = {}) {
  return {
    displayName: name,
    // Every project shares the workspace root as rootDir (so coverage sees every file a test
    // loads, e.g. the services the e2e suite boots) and finds its tests under its own folder.
    rootDir: root,
    roots: [`<rootDir>/${dir}`],
    // onnxruntime-node builds tensors from the host realm's typed arrays; this environment shares them.
    testEnvironment: `${root}libs/infrastructure/src/testing/onnx-test-environment.js`,
    extensionsToTreatAsEsm: ['.ts'],
    testMatch: ['**/*.spec.ts'],
    collectCoverageFrom: ['libs/*/src/**/*.ts', 'apps/*/src/**/*.ts', '!**/*.spec.ts', '!**/testing/**', '!**/index.ts', '!**/main.ts'],
    transform: {
      '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: `${root}tsconfig.spec.json` }],
    },
    moduleNameMapper: {
      '^@hotswap/infrastructure/testing$': `${root}libs/infrastructure/src/testing/index.ts`,
      '^@hotswap/(contracts|domain|infrastructure)$': `${root}libs/$1/src/index.ts`,
      '^@hotswap/(gateway|model-registry|validator|distributor|device-registry|monitor|edge-agent|cli)$': `${root}apps/$1/src/index.ts`,
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    ...extra,
  };
}

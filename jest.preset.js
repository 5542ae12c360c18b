// Shared jest settings: the workspace is ESM (NestJS 12 is ESM-only), so ts-jest runs in ESM mode
// and jest must be started with --experimental-vm-modules (see package.json "test").
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export function project(name, dir, extra = {}) {
  return {
    displayName: name,
    rootDir: `${root}${dir}`,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    testMatch: ['<rootDir>/**/*.spec.ts'],
    transform: {
      '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: `${root}tsconfig.spec.json` }],
    },
    moduleNameMapper: {
      '^@hotswap/(contracts|domain|infrastructure)$': `${root}libs/$1/src/index.ts`,
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    ...extra,
  };
}

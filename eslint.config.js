import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const frameworkAndIo = [
  '@nestjs/*', '@nats-io/*', '@eventstore/*', '@aws-sdk/*', '@opentelemetry/*', '@electric-sql/*',
  'class-validator', 'class-transformer', 'onnxruntime-node', 'pg', 'jose',
  'node:*', 'fs', 'net', 'http', 'https', 'crypto', 'child_process',
];

const boundaries = (extra = {}) => [
  'error',
  {
    allow: [],
    depConstraints: [
      { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: frameworkAndIo },
      { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain'] },
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:infra'] },
      { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:infra', 'type:app'] },
    ],
    ...extra,
  },
];

// The composition roots (the embedded default in apps/cli, the e2e suites, and integration specs
// that boot a service with its real collaborators) assemble services, so they alone may import
// apps' public entries.
const APP_ENTRIES = ['gateway', 'model-registry', 'validator', 'distributor', 'device-registry', 'monitor', 'edge-agent', 'cli'].map((a) => `@hotswap/${a}`);

export default [
  { ignores: ['**/node_modules/**', 'dist/**', 'coverage/**', '.hotswap/**', '.nx/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': boundaries(),
    },
  },
  {
    files: ['apps/cli/**/*.ts', 'test/**/*.ts', 'apps/*/src/**/*.int.spec.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries({ allow: APP_ENTRIES }) },
  },
  {
    // The domain is pure: time, ids and I/O arrive as data.
    files: ['libs/domain/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'Date', message: 'time comes in as data (metadata.now)' }, 'fetch', 'process', 'setTimeout', 'setInterval'],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'randomness comes in as data' }],
    },
  },
];

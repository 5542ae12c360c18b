#!/usr/bin/env node
// The `hotswap` command: runs the compiled CLI with the workspace alias hook.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const main = new URL('../../../dist/apps/cli/src/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('hotswap is not built yet: run `npm run build` (npm start builds it too).');
  process.exit(1);
}
register('../../../tools/resolve-hook.mjs', import.meta.url);
await import(main.href);

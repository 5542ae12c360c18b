/**
 * Compiles this library's event store, read-model and projection sources to plain ESM under
 * node_modules/.cache, so a test can run them in a child process with plain `node` (and kill it).
 */
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../', import.meta.url));
const WORKSPACE = fileURLToPath(new URL('../../../../../', import.meta.url));
const FOLDERS = ['event-store', 'read-model', 'projections'];
// The library imports @hotswap/contracts by alias; the child gets a compiled copy under `contracts/`.
const CONTRACTS = join(WORKSPACE, 'libs', 'contracts', 'src');

export interface CompiledTree {
  /** Root of the compiled tree: `<root>/projections/testing/kill-child.mjs` and so on. */
  readonly root: string;
  remove(): Promise<void>;
}

export async function compileForChild(): Promise<CompiledTree> {
  // Inside node_modules so the compiled files resolve the workspace's packages.
  const root = join(WORKSPACE, 'node_modules', '.cache', 'hotswap-child', `${process.pid}-${Date.now()}`);
  const sources = [
    ...(await Promise.all(FOLDERS.map((folder) => walk(join(SRC, folder))))).flat().map((file) => ({ file, target: join(root, relative(SRC, file)) })),
    ...(await walk(CONTRACTS)).map((file) => ({ file, target: join(root, 'contracts', relative(CONTRACTS, file)) })),
  ];
  for (const { file, target } of sources) {
    await mkdir(dirname(target), { recursive: true });
    if (file.endsWith('.mjs')) {
      await cp(file, target);
    } else if (file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.spec.ts') && !file.endsWith('.contract.ts')) {
      const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true },
        fileName: file,
      });
      const contracts = relative(dirname(target), join(root, 'contracts', 'index.js'));
      const resolved = outputText.replace(/(['"])@hotswap\/contracts\1/g, `'${contracts.startsWith('.') ? contracts : `./${contracts}`}'`);
      await writeFile(target.replace(/\.ts$/, '.js'), resolved);
    }
  }
  // node_modules has no package scope of its own: mark the tree as ESM.
  await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
  return { root, remove: () => rm(root, { recursive: true, force: true }) };
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])));
  return files.flat();
}

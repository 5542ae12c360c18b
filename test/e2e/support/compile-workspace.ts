/**
 * Transpiles the workspace's sources (file by file, as ts-jest does with isolatedModules) into a
 * private tree under node_modules/.cache, so apps can run as plain `node` child processes without
 * depending on a shared dist/ that other builds may be rewriting. Every lib and app is compiled;
 * other files under their src/ (worker .mjs, dashboard assets) are copied beside them.
 * Used by the fleet benchmarks (the simulator) and the scale-out e2e suite (every service's main).
 */
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));
const LIBS = ['contracts', 'domain', 'infrastructure'] as const;
export const APPS = ['cli', 'device-registry', 'distributor', 'edge-agent', 'gateway', 'model-registry', 'monitor', 'validator'] as const;
export type AppName = (typeof APPS)[number];

export interface CompiledWorkspace {
  /** `node --import <register> <entry>`: the hook maps the @hotswap/* aliases into this tree. */
  readonly register: string;
  /** Root of the tree (`<root>/dist/apps/<app>/src/...`). */
  readonly root: string;
  /** The compiled `apps/<app>/src/main.ts`: the app as its own process, configured by its environment. */
  main(app: AppName): string;
  /** An entry that runs `hotswap fleet simulate` with the process's arguments. */
  readonly simulator: string;
  remove(): Promise<void>;
}

export interface CompiledSimulator {
  /** `node --import <register> <entry> --devices …` runs the simulator. */
  readonly register: string;
  readonly entry: string;
  remove(): Promise<void>;
}

const HOOK = `
const ROOTS = ${JSON.stringify(Object.fromEntries([...LIBS.map((l) => [l, `libs/${l}`]), ...APPS.map((a) => [a, `apps/${a}`])]))};
export async function resolve(specifier, context, nextResolve) {
  const match = /^@hotswap\\/([a-z-]+)$/.exec(specifier);
  if (match && ROOTS[match[1]]) return nextResolve(new URL('./dist/' + ROOTS[match[1]] + '/src/index.js', import.meta.url).href, context);
  return nextResolve(specifier, context);
}
`;

const SIMULATOR = `
import { fleetSimulate } from './dist/apps/cli/src/commands/fleet.js';
process.exitCode = await fleetSimulate(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
`;

export async function compileWorkspace(name = 'hotswap-workspace'): Promise<CompiledWorkspace> {
  // Inside node_modules so the compiled files resolve the workspace's packages.
  const root = join(WORKSPACE, 'node_modules', '.cache', name, `${process.pid}-${Date.now()}`);
  const folders = [...LIBS.map((l) => join(WORKSPACE, 'libs', l, 'src')), ...APPS.map((a) => join(WORKSPACE, 'apps', a, 'src'))];
  const files = (await Promise.all(folders.map(walk))).flat();
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true, esModuleInterop: true,
  };
  await Promise.all(files.map(async (file) => {
    if (file.endsWith('.spec.ts') || file.endsWith('.d.ts')) return;
    const target = join(root, 'dist', relative(WORKSPACE, file));
    await mkdir(dirname(target), { recursive: true });
    if (!file.endsWith('.ts')) {
      await cp(file, target);
      return;
    }
    const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), { compilerOptions: options, fileName: file });
    await writeFile(target.replace(/\.ts$/, '.js'), outputText);
  }));
  // node_modules has no package scope of its own: mark the tree as ESM.
  await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
  await writeFile(join(root, 'hook.mjs'), HOOK);
  await writeFile(join(root, 'register.mjs'), `import { register } from 'node:module';\nregister('./hook.mjs', import.meta.url);\n`);
  await writeFile(join(root, 'fleet-main.mjs'), SIMULATOR);
  return {
    register: join(root, 'register.mjs'),
    root,
    main: (app) => join(root, 'dist', 'apps', app, 'src', 'main.js'),
    simulator: join(root, 'fleet-main.mjs'),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** The fleet benchmarks' view of the compiled tree: only the simulator. */
export async function compileSimulator(): Promise<CompiledSimulator> {
  const compiled = await compileWorkspace('hotswap-bench-simulator');
  return { register: compiled.register, entry: compiled.simulator, remove: compiled.remove };
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])));
  return files.flat();
}

import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Page } from '@hotswap/contracts';
import { ApiError, UnreachableError } from '../../client/hotswap-client.js';
import { BadUrlError, connect, type Connection } from '../../client/connection.js';
import { UsageError } from './usage-error.js';

/** Where a command writes; `process.stdout` / `process.stderr` fit, and so does a test's capture. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** A terminal: progress bars are redrawn in place. */
  readonly isTTY?: boolean;
  /** Terminal width in characters. */
  readonly columns?: number;
}

/** Everything a command touches, injected so tests run commands in-process. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: NodeJS.ProcessEnv;
  /** Monotonic clock in ms (default `performance.now`), for progress rates. */
  readonly now?: () => number;
}

export const EXIT_OK = 0;
/** The command ran and failed: an API error, an unreachable server, an unreadable file. */
export const EXIT_FAILURE = 1;
/** The command line was wrong; its usage is printed. */
export const EXIT_USAGE = 2;

/** A failure with a message that says it all (printed as `error: <message>`). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every API command takes. */
const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const CONNECTION_USAGE = `common options:
  --url <url>       the HotSwap API (default $HOTSWAP_URL, else http://127.0.0.1:8080)
  --token <jwt>     bearer token (default $HOTSWAP_TOKEN; on loopback, an Admin dev token from .hotswap/keys)
  --json            print the API's JSON instead of a table`;

export interface CommandSpec {
  /** One usage line per form, printed on bad flags and with `--help`. */
  readonly usage: string;
  readonly options: Options;
  /** Names of the positional arguments, all required. */
  readonly positionals: readonly string[];
}

/** Parsed flags: a string flag's value, a `multiple` flag's values, a boolean flag's presence. */
export interface Flags {
  string(name: string): string | undefined;
  strings(name: string): string[];
  boolean(name: string): boolean;
}

export interface CommandContext {
  readonly flags: Flags;
  readonly positionals: readonly string[];
  readonly io: CliIo;
  /** Resolves URL and token (saying on stderr when a dev token was minted). */
  connect(): Promise<Connection>;
  /** Prints `value` as JSON on stdout. */
  printJson(value: unknown): void;
  print(line?: string): void;
  note(line: string): void;
}

/**
 * Parses `args` against `spec` and runs `body`, turning every failure into one line on stderr and
 * an exit code: usage errors print the command's usage (2), API errors `error: <status> <message>`
 * (1), an unreachable API says how to start it (1).
 */
export async function runCommand(
  spec: CommandSpec,
  args: readonly string[],
  io: CliIo,
  body: (ctx: CommandContext) => Promise<void>,
): Promise<number> {
  const usage = `${spec.usage}\n\n${CONNECTION_USAGE}`;
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: { ...spec.options, ...CONNECTION_OPTIONS }, allowPositionals: true, strict: true });
  } catch (error) {
    return usageFailure(io, (error as Error).message, usage);
  }
  if (parsed.values.help === true) {
    io.stdout.write(`${usage}\n`);
    return EXIT_OK;
  }
  if (parsed.positionals.length !== spec.positionals.length) {
    const problem = parsed.positionals.length < spec.positionals.length
      ? `missing <${spec.positionals[parsed.positionals.length]}>`
      : `unexpected argument "${parsed.positionals[spec.positionals.length]}"`;
    return usageFailure(io, problem, usage);
  }
  const values = parsed.values;
  const flags: Flags = {
    string: (name) => (typeof values[name] === 'string' ? values[name] : undefined),
    strings: (name) => (Array.isArray(values[name]) ? (values[name] as unknown[]).map(String) : []),
    boolean: (name) => values[name] === true,
  };
  const ctx: CommandContext = {
    flags,
    positionals: parsed.positionals,
    io,
    connect: async () => {
      const connection = await connect({ url: flags.string('url'), token: flags.string('token') }, io.env);
      if (connection.notice) io.stderr.write(`${connection.notice}\n`);
      return connection;
    },
    printJson: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    print: (line = '') => io.stdout.write(`${line}\n`),
    note: (line) => io.stderr.write(`${line}\n`),
  };
  try {
    await body(ctx);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError || error instanceof BadUrlError) return usageFailure(io, error.message, usage);
    io.stderr.write(`${describeFailure(error)}\n`);
    return EXIT_FAILURE;
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof ApiError) {
    const hint = error.status === 401 ? ' (set HOTSWAP_TOKEN, e.g. HOTSWAP_TOKEN=$(npx hotswap token --role Admin))' : '';
    return `error: ${error.status} ${error.message}${hint}`;
  }
  if (error instanceof UnreachableError || error instanceof CliError) return `error: ${error.message}`;
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}

function usageFailure(io: CliIo, problem: string, usage: string): number {
  io.stderr.write(`error: ${problem}\n\n${usage}\n`);
  return EXIT_USAGE;
}

export interface CommandGroup {
  /** e.g. `models`. */
  readonly name: string;
  readonly commands: Readonly<Record<string, { readonly summary: string; readonly run: (args: readonly string[], io: CliIo) => Promise<number> }>>;
}

/** Dispatches `hotswap <group> <command> …`; without a known command, prints the group's usage. */
export async function runGroup(group: CommandGroup, args: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = args;
  const command = name === undefined ? undefined : group.commands[name];
  if (command) return command.run(rest, io);
  const width = Math.max(...Object.keys(group.commands).map((c) => c.length));
  const usage = `usage: hotswap ${group.name} <command>\n${Object.entries(group.commands)
    .map(([c, { summary }]) => `  ${c.padEnd(width)}  ${summary}`).join('\n')}\n(hotswap ${group.name} <command> --help for its options)`;
  if (name === '--help' || name === '-h') {
    io.stdout.write(`${usage}\n`);
    return EXIT_OK;
  }
  io.stderr.write(`error: ${name === undefined ? `hotswap ${group.name} needs a command` : `unknown command "${group.name} ${name}"`}\n\n${usage}\n`);
  return EXIT_USAGE;
}

/** Parses a `--limit`/`--offset`-style flag: a non-negative integer, or a usage error naming it. */
export function intFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`--${name} takes an integer >= ${min}, got "${value}"`);
  return Number(value);
}

/** Under a table: which slice of how many, and the flag for the next page. */
export function printPaging(ctx: CommandContext, page: Page<unknown>, offset: number): void {
  const end = offset + page.items.length;
  if (offset > 0 || end < page.total) ctx.print(`(${offset + 1}-${end} of ${page.total}${end < page.total ? `; --offset ${end} for more` : ''})`);
}

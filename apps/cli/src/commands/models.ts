import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import {
  FRAMEWORKS, type Framework, type ModelView, type Page, type TensorSpec, type ValidationReportView, type ValidationStartedReply,
} from '@hotswap/contracts';
import type { HotSwapClient } from '../client/hotswap-client.js';
import { multipartBody } from '../client/multipart.js';
import { CliError, intFlag, printPaging, runCommand, runGroup, type CliIo, type CommandContext, type CommandGroup } from './support/cli.js';
import { ago, fields, formatBytes, formatDuration, formatNumber, table } from './support/format.js';
import { ProgressBar } from './support/progress.js';
import { UsageError } from './support/usage-error.js';

/** Framework by file extension, for `push` without `--framework`. TensorFlow SavedModels are plain ZIPs, so they need the flag. */
const FRAMEWORK_BY_EXTENSION: Readonly<Record<string, Framework>> = { '.onnx': 'onnx', '.pt': 'pytorch', '.pth': 'pytorch', '.zip': 'zip' };

/** How often `validate --wait` asks for the report, in ms. */
const WAIT_POLL_MS = 250;

const modelPath = (id: string) => `/api/v1/models/${encodeURIComponent(id)}`;

// ── push ────────────────────────────────────────────────────────────────────────────────────────

const PUSH_USAGE = `usage: hotswap models push <file> --name <name> --version <MAJOR.MINOR.PATCH> [--framework ${FRAMEWORKS.join('|')}] [--metadata <json-file>]
  Computes the file's SHA-256, streams it to the registry and prints the model id.
  --framework defaults from the extension: .onnx → onnx, .pt/.pth → pytorch, .zip → zip.
  --metadata: a JSON file with inputSchema, outputSchema, requirements, description.`;

export function modelsPush(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({
    usage: PUSH_USAGE,
    positionals: ['file'],
    options: { name: { type: 'string' }, version: { type: 'string' }, framework: { type: 'string' }, metadata: { type: 'string' } },
  }, args, io, async (ctx) => {
    const file = ctx.positionals[0]!;
    const name = ctx.flags.string('name');
    const version = ctx.flags.string('version');
    if (!name) throw new UsageError('--name is required');
    if (!version) throw new UsageError('--version is required');
    const framework = frameworkOf(file, ctx.flags.string('framework'), ctx);
    const sizeBytes = await fileSize(file);
    const metadataFile = ctx.flags.string('metadata');
    const metadata = metadataFile === undefined ? undefined : await readMetadata(metadataFile);

    const { client } = await ctx.connect();
    // Before hashing a large file: fail fast when nothing listens or the token is refused.
    await client.get('/api/v1/models', { limit: 1 });
    const now = io.now ?? (() => performance.now());

    const hashing = new ProgressBar(io.stderr, 'checksum', sizeBytes, { now });
    let checksum: string;
    try {
      checksum = await sha256File(file, (n) => hashing.advance(n));
    } catch (error) {
      hashing.abort();
      throw error;
    }
    hashing.finish();

    const sending = new ProgressBar(io.stderr, 'upload  ', sizeBytes, { now });
    const body = multipartBody(
      [['name', name], ['version', version], ['framework', framework], ['checksum', checksum], ...(metadata === undefined ? [] : [['metadata', metadata] as const])],
      { field: 'artifact', path: file, sizeBytes, filename: basename(file) },
      (n) => sending.advance(n),
    );
    let model: Pick<ModelView, 'id' | 'status' | 'checksum' | 'sizeBytes'>;
    try {
      model = await client.upload('/api/v1/models', body);
    } catch (error) {
      sending.abort();
      throw error;
    }
    const rate = sending.finish();
    if (ctx.flags.boolean('json')) return ctx.printJson(model);
    // A rate over a file under 1 MB says more about latency than throughput.
    const speed = Number.isFinite(rate) && model.sizeBytes >= 1e6 ? ` at ${(rate / 1e6).toFixed(1)} MB/s` : '';
    ctx.note(`uploaded ${model.id}: ${formatBytes(model.sizeBytes)}${speed}, sha256 ${model.checksum}, status ${model.status}`);
    ctx.note(`the validator runs next: hotswap models report ${model.id}`);
    ctx.print(model.id);
  });
}

function frameworkOf(file: string, flag: string | undefined, ctx: CommandContext): Framework {
  if (flag !== undefined) {
    if (!(FRAMEWORKS as readonly string[]).includes(flag)) throw new UsageError(`--framework takes one of ${FRAMEWORKS.join(', ')}, got "${flag}"`);
    return flag as Framework;
  }
  const extension = extname(file).toLowerCase();
  const inferred = FRAMEWORK_BY_EXTENSION[extension];
  if (inferred === undefined) {
    throw new UsageError(`cannot tell the framework of ${basename(file)} from its extension: pass --framework ${FRAMEWORKS.join('|')}`);
  }
  ctx.note(`framework: ${inferred} (from the ${extension} extension; --framework overrides)`);
  return inferred;
}

async function fileSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new CliError(`${file} is not a regular file`);
    return info.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

/** The metadata file, checked to be a JSON object here so a typo is named before anything is sent. */
async function readMetadata(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read --metadata ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`--metadata ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError(`--metadata ${file} must hold a JSON object`);
  return JSON.stringify(parsed);
}

async function sha256File(file: string, onBytes: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    onBytes(chunk.length);
  }
  return hash.digest('hex');
}

// ── list / get ──────────────────────────────────────────────────────────────────────────────────

export function modelsList(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({
    usage: 'usage: hotswap models list [--name <name>] [--status <status>] [--limit <n>] [--offset <n>]',
    positionals: [],
    options: { name: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string' }, offset: { type: 'string' } },
  }, args, io, async (ctx) => {
    const query = {
      name: ctx.flags.string('name'), status: ctx.flags.string('status'),
      limit: intFlag('limit', ctx.flags.string('limit'), 1), offset: intFlag('offset', ctx.flags.string('offset')),
    };
    const { client } = await ctx.connect();
    const page = await client.get<Page<ModelView>>('/api/v1/models', query);
    if (ctx.flags.boolean('json')) return ctx.printJson(page);
    if (page.items.length === 0) return ctx.print(page.total === 0 ? 'no models' : `no models at offset ${query.offset ?? 0} (${page.total} in all)`);
    ctx.print(table(
      ['ID', 'FRAMEWORK', 'STATUS', 'SIZE', 'UPLOADED'],
      page.items.map((m) => [m.id, m.framework, m.status, formatBytes(m.sizeBytes), ago(m.uploadedAt)]),
    ));
    printPaging(ctx, page, query.offset ?? 0);
  });
}

export function modelsGet(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ usage: 'usage: hotswap models get <id>', positionals: ['id'], options: {} }, args, io, async (ctx) => {
    const { client } = await ctx.connect();
    const model = await client.get<ModelView>(modelPath(ctx.positionals[0]!));
    if (ctx.flags.boolean('json')) return ctx.printJson(model);
    const { metadata } = model;
    const requirements = metadata.requirements && Object.entries(metadata.requirements).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    ctx.print(fields([
      ['id', model.id], ['name', model.name], ['version', model.version], ['framework', model.framework], ['status', model.status],
      ['size', `${formatBytes(model.sizeBytes)} (${model.sizeBytes} bytes)`], ['sha256', model.checksum],
      ['uploaded', `${model.uploadedAt} by ${model.uploadedBy}`], ['description', metadata.description],
      ['opset', metadata.opset === undefined ? undefined : String(metadata.opset)],
      ['inputs', tensors(metadata.inputSchema)], ['outputs', tensors(metadata.outputSchema)], ['requirements', requirements || undefined],
    ]));
  });
}

const tensors = (specs: readonly TensorSpec[] | undefined) =>
  specs === undefined || specs.length === 0 ? undefined : specs.map((t) => `${t.name} ${t.type}[${t.shape.join(',')}]`).join(', ');

// ── validate / report ───────────────────────────────────────────────────────────────────────────

const VALIDATE_USAGE = `usage: hotswap models validate <id> [--threshold <key>=<number> ...] [--wait [--timeout <seconds>]]
  thresholds: latencyP99Ms, minThroughputPerSec, maxMemoryMb, minAccuracyRatio, maxErrorRate
  --wait: wait for the verdict, print the report, and exit 1 when validation failed`;

export function modelsValidate(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({
    usage: VALIDATE_USAGE,
    positionals: ['id'],
    options: { threshold: { type: 'string', multiple: true }, wait: { type: 'boolean' }, timeout: { type: 'string' } },
  }, args, io, async (ctx) => {
    const id = ctx.positionals[0]!;
    const thresholds = parseThresholds(ctx.flags.strings('threshold'));
    const timeoutSeconds = intFlag('timeout', ctx.flags.string('timeout'), 1) ?? 120;
    const { client } = await ctx.connect();
    const started = await client.post<ValidationStartedReply>(`${modelPath(id)}/validate`, thresholds === undefined ? {} : { thresholds });
    if (!ctx.flags.boolean('wait')) {
      if (ctx.flags.boolean('json')) return ctx.printJson(started);
      ctx.print(`validation ${started.validationId} of ${started.id} started (${started.status}); see: hotswap models report ${started.id}`);
      return;
    }
    const report = await waitForVerdict(client, id, started.validationId, timeoutSeconds * 1000, io);
    if (ctx.flags.boolean('json')) ctx.printJson(report);
    else printReport(ctx, report);
    if (report.status === 'Failed') {
      const failing = report.checks.filter((c) => !c.passed).map((c) => c.name);
      throw new CliError(`${id} failed validation${failing.length > 0 ? `: ${failing.join(', ')}` : ''}`);
    }
  });
}

function parseThresholds(values: readonly string[]): Record<string, number> | undefined {
  if (values.length === 0) return undefined;
  const thresholds: Record<string, number> = {};
  for (const value of values) {
    const match = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/.exec(value);
    if (!match || !Number.isFinite(Number(match[2]))) throw new UsageError(`--threshold takes <key>=<number>, got "${value}"`);
    thresholds[match[1]!] = Number(match[2]);
  }
  return thresholds;
}

async function waitForVerdict(client: HotSwapClient, id: string, validationId: string, timeoutMs: number, io: CliIo): Promise<ValidationReportView> {
  const now = io.now ?? (() => performance.now());
  const deadline = now() + timeoutMs;
  for (;;) {
    const report = await client.get<ValidationReportView>(`${modelPath(id)}/validation-report`).catch((error: unknown) => {
      // The report appears once the validator has recorded the run's start.
      if ((error as { status?: number }).status === 404) return undefined;
      throw error;
    });
    if (report !== undefined && report.validationId === validationId && report.status !== 'Running') return report;
    if (now() > deadline) {
      throw new CliError(`validation ${validationId} of ${id} has no verdict after ${formatDuration(timeoutMs / 1000)}; see: hotswap models report ${id}`);
    }
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}

export function modelsReport(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ usage: 'usage: hotswap models report <id>', positionals: ['id'], options: {} }, args, io, async (ctx) => {
    const { client } = await ctx.connect();
    const report = await client.get<ValidationReportView>(`${modelPath(ctx.positionals[0]!)}/validation-report`);
    if (ctx.flags.boolean('json')) return ctx.printJson(report);
    printReport(ctx, report);
  });
}

function printReport(ctx: CommandContext, report: ValidationReportView): void {
  const latency = report.latencyMs && `p50 ${formatNumber(report.latencyMs.p50, 3)} ms, p95 ${formatNumber(report.latencyMs.p95, 3)} ms, p99 ${formatNumber(report.latencyMs.p99, 3)} ms`;
  ctx.print(fields([
    ['model', report.modelId], ['validation', report.validationId], ['status', report.status], ['ran on', report.ranOn],
    ['latency', latency ?? '-'],
    ['throughput', report.throughputPerSec === null ? '-' : `${formatNumber(report.throughputPerSec, 1)} inferences/s`],
    ['memory', report.memoryMb === null ? '-' : `${formatNumber(report.memoryMb, 1)} MB`],
    ['error rate', formatNumber(report.errorRate, 4)],
    ['accuracy', report.accuracy === undefined ? undefined : formatNumber(report.accuracy, 4)],
    ['started', report.startedAt], ['finished', report.finishedAt],
  ]));
  ctx.print();
  if (report.checks.length === 0) ctx.print(report.status === 'Running' ? 'checks: none yet, the validation is running' : 'checks: none');
  else {
    ctx.print(table(
      ['CHECK', 'THRESHOLD', 'ACTUAL', 'RESULT'],
      report.checks.map((c) => [c.name, cell(c.threshold), cell(c.actual), c.passed ? 'pass' : 'FAIL']),
    ));
  }
  for (const note of report.notes) ctx.print(`note: ${note}`);
}

/** Check values as table cells; a SHA-256 is cut to its first 12 digits so the table stays readable. */
const cell = (value: number | string | boolean | null) => {
  if (typeof value === 'number') return formatNumber(value, 3);
  if (value === null) return '-';
  return typeof value === 'string' && /^[0-9a-f]{64}$/i.test(value) ? `${value.slice(0, 12)}…` : String(value);
};

// ── the group ───────────────────────────────────────────────────────────────────────────────────

export const MODELS: CommandGroup = {
  name: 'models',
  commands: {
    push: { summary: 'upload a model file (checksum computed here, streamed with progress)', run: modelsPush },
    list: { summary: 'list models (--name, --status, --limit, --offset)', run: modelsList },
    get: { summary: 'show one model', run: modelsGet },
    validate: { summary: 're-run validation, optionally with stricter thresholds', run: modelsValidate },
    report: { summary: 'show the latest validation report', run: modelsReport },
  },
};

/** `hotswap models <push|list|get|validate|report> …` */
export const models = (args: readonly string[], io: CliIo): Promise<number> => runGroup(MODELS, args, io);

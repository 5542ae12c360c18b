import { readFile } from 'node:fs/promises';
import {
  DISTRIBUTION_VERBS, FINISHED_DISTRIBUTION_STATUSES,
  type CreatedReply, type DistributionMetricsView, type DistributionPlanView, type DistributionStatusView, type DistributionVerb, type Page,
} from '@hotswap/contracts';
import type { HotSwapClient } from '../client/hotswap-client.js';
import { CliError, intFlag, printPaging, runCommand, runGroup, type CliIo, type CommandContext, type CommandGroup } from './support/cli.js';
import { fields, formatNumber, table } from './support/format.js';
import { UsageError } from './support/usage-error.js';

const PATH = '/api/v1/distributions';
const pathOf = (id: string) => `${PATH}/${encodeURIComponent(id)}`;

// ── create ──────────────────────────────────────────────────────────────────────────────────────

const CREATE_USAGE = `usage: hotswap rollout create --file <spec.json> [--dry-run] [--watch]
       hotswap rollout create --model <id> --strategy <Direct|RegionalRollout|Canary|ABTesting|ProgressiveRollout>
                              (--devices <id,id,...> | --region <r> | --type <t> | --tag <tag> ...) [strategy flags] [--dry-run] [--watch]
strategy flags:
  RegionalRollout     --regions <r1,r2,...> --delay <ISO 8601, e.g. PT10M>
  Canary              --canary-percentage <p> --canary-duration <PT15M>
  ABTesting           --model-a <id> --model-b <id> --test-duration <PT1H> --metric <accuracy|latency|errorRate> [--split <p>] [--rollout-winner]
  ProgressiveRollout  --stages <percent:duration,...> (e.g. 10:PT5M,50:PT10M,100:PT0S) [--manual-approval]
common flags:
  --policy <Automatic|Freeze|Manual>  --max-latency-ms <n>  --max-error-rate <0..1>  --min-accuracy <0..1>
  --start-at <ISO instant>  --health-window <PT30S>  --max-in-flight <n>  --rate <devices/min>
The spec file holds the JSON body of POST /api/v1/distributions (the specification's strategy configuration); flags given with --file override it.`;

const CREATE_OPTIONS = {
  file: { type: 'string' }, model: { type: 'string' }, strategy: { type: 'string' }, devices: { type: 'string' },
  region: { type: 'string' }, type: { type: 'string' }, tag: { type: 'string', multiple: true },
  regions: { type: 'string' }, delay: { type: 'string' }, 'canary-percentage': { type: 'string' }, 'canary-duration': { type: 'string' },
  'model-a': { type: 'string' }, 'model-b': { type: 'string' }, 'test-duration': { type: 'string' }, metric: { type: 'string' },
  split: { type: 'string' }, 'rollout-winner': { type: 'boolean' }, stages: { type: 'string' }, 'manual-approval': { type: 'boolean' },
  policy: { type: 'string' }, 'max-latency-ms': { type: 'string' }, 'max-error-rate': { type: 'string' }, 'min-accuracy': { type: 'string' },
  'start-at': { type: 'string' }, 'health-window': { type: 'string' }, 'max-in-flight': { type: 'string' }, rate: { type: 'string' },
  'dry-run': { type: 'boolean' }, watch: { type: 'boolean' }, interval: { type: 'string' },
} as const;

function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}

const list = (value: string | undefined) => value?.split(',').map((s) => s.trim()).filter(Boolean);

/** `10:PT5M,100:PT0S` → `[{ percentage: 10, duration: 'PT5M' }, …]`. */
export function parseStages(text: string): Array<{ percentage: number; duration: string }> {
  return text.split(',').map((part) => {
    const [percentage, duration] = part.split(':');
    const p = Number(percentage);
    if (!percentage || !duration || !Number.isFinite(p)) throw new UsageError(`--stages takes percent:duration pairs such as 10:PT5M,100:PT0S, got "${part}"`);
    return { percentage: p, duration };
  });
}

/** The request body from the spec file (if any) and the flags, flags winning; undefined fields dropped. */
async function createBody(ctx: CommandContext): Promise<Record<string, unknown>> {
  const f = ctx.flags;
  let base: Record<string, unknown> = {};
  const file = f.string('file');
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new CliError(`${file} is not JSON: ${(error as Error).message}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new CliError(`${file} must hold a JSON object (the body of POST /api/v1/distributions)`);
  }
  const tags = f.strings('tag');
  const filter = { region: f.string('region'), deviceType: f.string('type'), ...(tags.length > 0 ? { tags } : {}) };
  const criteria = {
    maxLatencyMs: numberFlag('max-latency-ms', f.string('max-latency-ms')), maxErrorRate: numberFlag('max-error-rate', f.string('max-error-rate')),
    minAccuracy: numberFlag('min-accuracy', f.string('min-accuracy')),
  };
  const execution = {
    healthWindow: f.string('health-window'), maxInFlight: intFlag('max-in-flight', f.string('max-in-flight'), 1), ratePerMinute: intFlag('rate', f.string('rate')),
  };
  const metric = f.string('metric');
  const flagged: Record<string, unknown> = {
    modelId: f.string('model'), strategy: f.string('strategy'), targetDevices: list(f.string('devices')),
    targetFilter: Object.values(filter).some((v) => v !== undefined) ? filter : undefined,
    regions: list(f.string('regions')), delayBetweenRegions: f.string('delay'),
    canaryPercentage: numberFlag('canary-percentage', f.string('canary-percentage')), canaryDuration: f.string('canary-duration'),
    modelA: f.string('model-a'), modelB: f.string('model-b'), testDuration: f.string('test-duration'),
    splitPercentage: numberFlag('split', f.string('split')),
    winnerCriteria: metric !== undefined ? { metric, ...(f.boolean('rollout-winner') ? { rolloutWinner: true } : {}) } : undefined,
    stages: f.string('stages') !== undefined ? parseStages(f.string('stages') as string) : undefined,
    autoProgress: f.boolean('manual-approval') ? false : undefined,
    rollbackPolicy: f.string('policy'),
    successCriteria: Object.values(criteria).some((v) => v !== undefined) ? criteria : undefined,
    schedule: f.string('start-at') !== undefined ? { startAt: f.string('start-at') } : undefined,
    execution: Object.values(execution).some((v) => v !== undefined) ? execution : undefined,
  };
  const body = { ...base, ...Object.fromEntries(Object.entries(flagged).filter(([, v]) => v !== undefined)) };
  // Nested objects lose their undefined members too, so the API's whitelist sees only what was given.
  const body2 = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  if (body2['strategy'] === undefined) throw new UsageError('--strategy (or a "strategy" in --file) is required');
  return body2;
}

export function rolloutCreate(args: readonly string[], io: CliIo): Promise<number> {
  let outcome = 0;
  return runCommand({ usage: CREATE_USAGE, positionals: [], options: CREATE_OPTIONS }, args, io, async (ctx) => {
    const body = await createBody(ctx);
    const { client } = await ctx.connect();
    if (ctx.flags.boolean('dry-run')) {
      const plan = await client.post<DistributionPlanView>(`${PATH}?dryRun=true`, body);
      if (ctx.flags.boolean('json')) return ctx.printJson(plan);
      ctx.print(`${plan.strategy} of ${plan.modelId}: ${plan.waves.reduce((n, w) => n + w.size, 0)} devices in ${plan.waves.length} waves (nothing recorded)`);
      ctx.print(table(['WAVE', 'NAME', 'MODEL', 'DEVICES', 'OBSERVE', 'APPROVAL', 'IDS'], plan.waves.map((w) => [
        String(w.wave), w.name, w.modelId, String(w.size), `${w.observeMs / 1000} s`, w.approval ?? '-', ellipsis(w.deviceIds ?? []),
      ])));
      if (plan.excluded.length > 0) {
        ctx.print(`excluded (${plan.excluded.length}):`);
        for (const e of plan.excluded.slice(0, 20)) ctx.print(`  ${e.deviceId}: ${e.reason}`);
      }
      return;
    }
    const created = await client.post<CreatedReply>(PATH, body);
    if (!ctx.flags.boolean('watch')) {
      if (ctx.flags.boolean('json')) return ctx.printJson(created);
      return ctx.print(`distribution ${created.id} ${created.status}`);
    }
    ctx.note(`distribution ${created.id} ${created.status}`);
    outcome = await watchUntilFinished(ctx, client, created.id);
  }).then((code) => (code === 0 ? outcome : code));
}

// ── status / list ───────────────────────────────────────────────────────────────────────────────

function ellipsis(ids: readonly string[], max = 5): string {
  return ids.length <= max ? ids.join(',') || '-' : `${ids.slice(0, max).join(',')},… (+${ids.length - max})`;
}

/** The status as a readable block: summary fields, then one line per wave with a bar. */
export function describeStatus(view: DistributionStatusView, metrics?: DistributionMetricsView): string {
  const p = view.progress;
  const lines = [fields([
    ['id', view.id], ['model', view.modelId], ['strategy', view.strategy], ['status', view.status], ['stage', view.stage],
    ['progress', `${p.updated}/${p.total} updated, ${p.failed} failed, ${p.pending} pending, ${p.rolledBack} rolled back`],
    ['reason', view.reason], ['degradation', view.degradation ? `${view.degradation.trigger}: ${view.degradation.detail}` : undefined],
    ['A/B test', view.abTest ? `${view.abTest.metric}: ${view.abTest.winner ? `winner ${view.abTest.winner}` : 'no winner'} (${view.abTest.detail})` : undefined],
  ])];
  lines.push(table(['WAVE', 'NAME', 'MODEL', 'STATUS', 'PROGRESS'], view.waves.map((w) => [
    String(w.wave), w.name, w.modelId, w.status ?? '-', `${bar(w.updated ?? 0, w.size)} ${w.updated ?? 0}/${w.size}${w.failed ? ` (${w.failed} failed)` : ''}`,
  ])));
  if (metrics !== undefined && metrics.groups.length > 0) {
    lines.push(table(['GROUP', 'MODEL', 'SAMPLES', 'P50 MS', 'P99 MS', 'ERRORS', 'ACCURACY'], metrics.groups.map((g) => [
      g.group, g.modelId, String(g.samples), formatNumber(g.latencyMs?.p50, 1), formatNumber(g.latencyMs?.p99, 1),
      g.errorRate === null ? '-' : `${formatNumber(g.errorRate * 100, 1)}%`, g.accuracy === null ? '-' : `${formatNumber(g.accuracy * 100, 1)}%`,
    ])));
  }
  return lines.join('\n');
}

function bar(done: number, total: number, width = 20): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function rolloutStatus(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ usage: 'usage: hotswap rollout status <id>', positionals: ['id'], options: {} }, args, io, async (ctx) => {
    const { client } = await ctx.connect();
    const view = await client.get<DistributionStatusView>(`${pathOf(ctx.positionals[0]!)}/status`);
    if (ctx.flags.boolean('json')) return ctx.printJson(view);
    ctx.print(describeStatus(view, await metricsOf(client, view.id)));
  });
}

export function rolloutList(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({
    usage: 'usage: hotswap rollout list [--status <status>] [--model <id>] [--limit <n>] [--offset <n>]',
    positionals: [], options: { status: { type: 'string' }, model: { type: 'string' }, limit: { type: 'string' }, offset: { type: 'string' } },
  }, args, io, async (ctx) => {
    const query = {
      status: ctx.flags.string('status'), modelId: ctx.flags.string('model'),
      limit: intFlag('limit', ctx.flags.string('limit'), 1), offset: intFlag('offset', ctx.flags.string('offset')),
    };
    const { client } = await ctx.connect();
    const page = await client.get<Page<{ id: string; modelId: string; strategy: string; status: string; targets: number; createdAt: string }>>(PATH, query);
    if (ctx.flags.boolean('json')) return ctx.printJson(page);
    if (page.items.length === 0) return ctx.print('no distributions');
    ctx.print(table(['ID', 'MODEL', 'STRATEGY', 'STATUS', 'TARGETS', 'CREATED'], page.items.map((d) => [d.id, d.modelId, d.strategy, d.status, String(d.targets), d.createdAt])));
    printPaging(ctx, page, query.offset ?? 0);
  });
}

async function metricsOf(client: HotSwapClient, id: string): Promise<DistributionMetricsView | undefined> {
  return client.get<DistributionMetricsView>(`${pathOf(id)}/metrics`).catch(() => undefined);
}

// ── watch ───────────────────────────────────────────────────────────────────────────────────────

/**
 * Follows a distribution until it finishes: on a terminal the block is redrawn in place, elsewhere
 * it is printed again whenever it changes. Exit code 0 when it succeeded, 1 otherwise.
 */
async function watchUntilFinished(ctx: CommandContext, client: HotSwapClient, id: string): Promise<number> {
  const intervalMs = intFlag('interval', ctx.flags.string('interval'), 50) ?? 1000;
  let last = '';
  let lines = 0;
  for (;;) {
    const view = await client.get<DistributionStatusView>(`${pathOf(id)}/status`);
    const finished = FINISHED_DISTRIBUTION_STATUSES.includes(view.status);
    if (ctx.flags.boolean('json')) {
      if (finished) ctx.printJson(view);
    } else {
      const text = describeStatus(view, await metricsOf(client, id));
      if (text !== last) {
        // On a terminal, move up over the previous block and clear it.
        if (ctx.io.stdout.isTTY && lines > 0) ctx.io.stdout.write(`\x1b[${lines}A\x1b[0J`);
        ctx.print(text);
        lines = text.split('\n').length;
        last = text;
      }
    }
    if (finished) return view.status === 'Succeeded' ? 0 : 1;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function rolloutWatch(args: readonly string[], io: CliIo): Promise<number> {
  let outcome = 0;
  return runCommand({ usage: 'usage: hotswap rollout watch <id> [--interval <ms>]', positionals: ['id'], options: { interval: { type: 'string' } } }, args, io, async (ctx) => {
    const { client } = await ctx.connect();
    outcome = await watchUntilFinished(ctx, client, ctx.positionals[0]!);
  }).then((code) => (code === 0 ? outcome : code));
}

// ── verbs ───────────────────────────────────────────────────────────────────────────────────────

function verb(name: DistributionVerb) {
  return (args: readonly string[], io: CliIo): Promise<number> =>
    runCommand({ usage: `usage: hotswap rollout ${name} <id> [--reason <text>]`, positionals: ['id'], options: { reason: { type: 'string' } } }, args, io, async (ctx) => {
      const { client } = await ctx.connect();
      const reason = ctx.flags.string('reason');
      const view = await client.post<DistributionStatusView>(`${pathOf(ctx.positionals[0]!)}/${name}`, reason === undefined ? {} : { reason });
      if (ctx.flags.boolean('json')) return ctx.printJson(view);
      ctx.print(`distribution ${view.id} ${view.status}${view.stage ? ` (stage ${view.stage})` : ''}`);
    });
}

const VERB_SUMMARIES: Record<DistributionVerb, string> = {
  pause: 'stop commanding devices', resume: 'go on after a pause', approve: 'let the waiting wave start (recorded with your identity)',
  cancel: 'stop for good (devices keep what they run)', rollback: 'send updated devices back to their previous model',
  promote: 'end the current observation now',
};

export const ROLLOUT: CommandGroup = {
  name: 'rollout',
  commands: {
    create: { summary: 'start a distribution from a spec file or flags (--dry-run, --watch)', run: rolloutCreate },
    list: { summary: 'list distributions (--status, --model)', run: rolloutList },
    status: { summary: 'show a distribution, its waves and metrics', run: rolloutStatus },
    watch: { summary: 'follow a distribution live until it finishes (exit 0 when it succeeded)', run: rolloutWatch },
    ...Object.fromEntries(DISTRIBUTION_VERBS.map((name) => [name, { summary: VERB_SUMMARIES[name], run: verb(name) }])),
  },
};

/** `hotswap rollout <create|list|status|watch|pause|resume|approve|cancel|rollback|promote> …` */
export const rollout = (args: readonly string[], io: CliIo): Promise<number> => runGroup(ROLLOUT, args, io);

import type { DeviceView, Page } from '@hotswap/contracts';
import { intFlag, printPaging, runCommand, runGroup, type CliIo, type CommandGroup } from './support/cli.js';
import { ago, fields, formatNumber, table } from './support/format.js';

export function devicesList(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({
    usage: 'usage: hotswap devices list [--region <r>] [--type <deviceType>] [--status <status>] [--tag <tag>] [--model <modelId>] [--limit <n>] [--offset <n>]',
    positionals: [],
    options: {
      region: { type: 'string' }, type: { type: 'string' }, status: { type: 'string' }, tag: { type: 'string' }, model: { type: 'string' },
      limit: { type: 'string' }, offset: { type: 'string' },
    },
  }, args, io, async (ctx) => {
    const query = {
      region: ctx.flags.string('region'), deviceType: ctx.flags.string('type'), status: ctx.flags.string('status'),
      tag: ctx.flags.string('tag'), modelId: ctx.flags.string('model'),
      limit: intFlag('limit', ctx.flags.string('limit'), 1), offset: intFlag('offset', ctx.flags.string('offset')),
    };
    const { client } = await ctx.connect();
    const page = await client.get<Page<DeviceView>>('/api/v1/devices', query);
    if (ctx.flags.boolean('json')) return ctx.printJson(page);
    if (page.items.length === 0) return ctx.print(page.total === 0 ? 'no devices' : `no devices at offset ${query.offset ?? 0} (${page.total} in all)`);
    ctx.print(table(
      ['ID', 'TYPE', 'REGION', 'STATUS', 'MODEL', 'HEARTBEAT', 'TAGS'],
      page.items.map((d) => [d.id, d.deviceType, d.region, d.status, d.currentModelId ?? '-', ago(d.lastHeartbeat), d.tags.join(',') || '-']),
    ));
    printPaging(ctx, page, query.offset ?? 0);
  });
}

export function devicesGet(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ usage: 'usage: hotswap devices get <id>', positionals: ['id'], options: {} }, args, io, async (ctx) => {
    const { client } = await ctx.connect();
    const device = await client.get<DeviceView>(`/api/v1/devices/${encodeURIComponent(ctx.positionals[0]!)}`);
    if (ctx.flags.boolean('json')) return ctx.printJson(device);
    const { cpuCores, gpu, memoryMb, storageMb } = device.capabilities;
    ctx.print(fields([
      ['id', device.id], ['type', device.deviceType], ['region', device.region], ['status', device.status],
      ['model', device.currentModelId ?? '-'],
      ['last swap', device.lastSwapMs === null ? undefined : `${formatNumber(device.lastSwapMs, 1)} ms`],
      ['heartbeat', device.lastHeartbeat === null ? 'never' : `${device.lastHeartbeat} (${ago(device.lastHeartbeat)})`],
      ['capabilities', `${cpuCores} CPU cores, ${gpu ? 'GPU' : 'no GPU'}, ${memoryMb} MB memory, ${storageMb} MB storage`],
      ['tags', device.tags.join(', ') || '-'],
    ]));
  });
}

export const DEVICES: CommandGroup = {
  name: 'devices',
  commands: {
    list: { summary: 'list devices (--region, --type, --status, --tag, --model, --limit, --offset)', run: devicesList },
    get: { summary: 'show one device', run: devicesGet },
  },
};

/** `hotswap devices <list|get> …` */
export const devices = (args: readonly string[], io: CliIo): Promise<number> => runGroup(DEVICES, args, io);

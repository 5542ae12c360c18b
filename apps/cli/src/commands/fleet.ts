import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultFleetSpecs, FleetSimulator, jsonLogger, type AgentLogger, type LogLevel, type SimulatedDeviceSpec } from '@hotswap/edge-agent';
import { mintDeviceCredentials, parseNatsTrust, type NatsTrust } from '@hotswap/infrastructure';
import { defaultDataDir } from '../embedded/local-secrets.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, intFlag, runGroup, type CliIo, type CommandGroup } from './support/cli.js';
import { UsageError } from './support/usage-error.js';

const SIMULATE_USAGE = `usage: hotswap fleet simulate --devices <n> [--nats <url>] [--rate <r>] [--prefix <p>] [--data-dir <dir>]
                             [--creds-from-trust <nats-trust.json>] [--creds-ttl <ms>] [--manifest-public-key <pem>]
                             [--status-every <ms>] [--log-level <level>]
  --devices <n>                 how many simulated devices (edge agents) to run in this process
  --nats <url>                  NATS server URL(s), comma-separated (default nats://127.0.0.1:4322, the embedded default's)
  --rate <r>                    synthetic inferences per second on each device that has a model (default 0)
  --prefix <p>                  device ids are <p>-001, <p>-002, ... (default sim)
  --data-dir <dir>              one subdirectory per device (default <HOTSWAP_DATA_DIR or .hotswap>/fleet-<prefix>)
  --creds-from-trust <file>     mint each device its own NATS credentials from this trust file
                                (the embedded default's is .hotswap/keys/nats-trust.json; its NATS runs in operator mode)
  --creds-ttl <ms>              lifetime of those credentials; each device renews its own at 2/3 of it (default 3600000)
  --manifest-public-key <pem>   the pinned release-manifest key (default .hotswap/keys/manifest-signing.pub.pem)
  --status-every <ms>           interval of the status line (default 1000)
  --log-level <level>           agents' log level on stderr: debug, info, warn, error, silent (default warn)
Stops on SIGINT or SIGTERM.`;

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export interface FleetSimulateOptions {
  /** Stops the simulation when aborted; default: SIGINT or SIGTERM. */
  readonly stop?: AbortSignal;
}

/** What the status line shows, also returned for tests. */
export interface FleetStatus {
  readonly devices: number;
  readonly online: number;
  /** Devices per active model id (`none` for no model). */
  readonly models: Readonly<Record<string, number>>;
  /** Active-model changes seen since the start. */
  readonly swaps: number;
  readonly inferences: number;
  readonly rssMb: number;
}

/**
 * `hotswap fleet simulate`: N edge agents in this process, each with its own NATS connection, data
 * directory and (optionally) credentials, speaking the real device protocol to a running control plane.
 */
export async function fleetSimulate(args: readonly string[], io: CliIo, options: FleetSimulateOptions = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args], strict: true, allowPositionals: false,
      options: {
        devices: { type: 'string' }, nats: { type: 'string' }, rate: { type: 'string' }, prefix: { type: 'string' }, 'data-dir': { type: 'string' },
        'creds-from-trust': { type: 'string' }, 'creds-ttl': { type: 'string' }, 'manifest-public-key': { type: 'string' }, 'status-every': { type: 'string' },
        'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
    if (parsed.help) {
      io.stdout.write(`${SIMULATE_USAGE}\n`);
      return EXIT_OK;
    }
  } catch (error) {
    return usageFailure(io, (error as Error).message);
  }
  let settings;
  try {
    const devices = intFlag('devices', parsed.devices, 1);
    if (devices === undefined) throw new UsageError('--devices is required');
    const prefix = parsed.prefix ?? 'sim';
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(prefix)) throw new UsageError(`--prefix takes letters, digits, _ and - (at most 40), got "${prefix}"`);
    const logLevel = (parsed['log-level'] ?? 'warn') as LogLevel;
    if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level takes one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
    const dataRoot = defaultDataDir(io.env);
    settings = {
      devices, prefix, logLevel,
      nats: parsed.nats ?? 'nats://127.0.0.1:4322',
      rate: intFlag('rate', parsed.rate) ?? 0,
      statusEveryMs: intFlag('status-every', parsed['status-every'], 10) ?? 1000,
      dataDir: resolve(parsed['data-dir'] ?? join(dataRoot, `fleet-${prefix}`)),
      trustFile: parsed['creds-from-trust'],
      credentialsTtlMs: intFlag('creds-ttl', parsed['creds-ttl'], 1000) ?? SIMULATED_CREDENTIALS_TTL_MS,
      publicKeyFile: parsed['manifest-public-key'] ?? join(dataRoot, 'keys', 'manifest-signing.pub.pem'),
    };
  } catch (error) {
    return usageFailure(io, (error as Error).message);
  }

  let fleet: FleetSimulator | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const stopSignals = stopOn(options.stop);
  try {
    const manifestPublicKeyPem = await readText(settings.publicKeyFile, 'manifest public key');
    const trust = settings.trustFile === undefined ? undefined : parseTrust(await readText(settings.trustFile, 'NATS trust file'), settings.trustFile);
    const mintStartedAt = performance.now();
    const unauthenticated = defaultFleetSpecs(settings.devices, settings.prefix);
    const specs = trust ? await withCredentials(unauthenticated, trust, settings.credentialsTtlMs) : unauthenticated;
    if (trust) io.stderr.write(`minted ${specs.length} device credentials in ${Math.round(performance.now() - mintStartedAt)} ms\n`);
    await mkdir(settings.dataDir, { recursive: true });
    const logger: AgentLogger = jsonLogger({ component: 'simulated-device' }, settings.logLevel);
    fleet = new FleetSimulator(specs, {
      natsServers: settings.nats, dataDir: settings.dataDir, manifestPublicKeyPem, syntheticLoadPerSec: settings.rate, logger,
    });
    const startedAt = performance.now();
    await fleet.start();
    io.stderr.write(`simulating ${settings.devices} devices (${specs[0]?.deviceId} ... ${specs.at(-1)?.deviceId}) on ${settings.nats}, data in ${settings.dataDir}; Ctrl-C stops\n`);
    const status = new FleetStatusLine(fleet, io, startedAt);
    ticker = setInterval(() => status.print(), settings.statusEveryMs);
    await stopSignals.stopped;
    clearInterval(ticker);
    status.print();
    if (io.stdout.isTTY) io.stdout.write('\n');
    io.stderr.write('stopping the simulated devices...\n');
    await fleet.stop();
    return EXIT_OK;
  } catch (error) {
    clearInterval(ticker);
    await fleet?.stop().catch(() => undefined);
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  } finally {
    stopSignals.dispose();
  }
}

/** Default lifetime of simulated devices' credentials, as the device registry issues them. */
export const SIMULATED_CREDENTIALS_TTL_MS = 60 * 60_000;

/**
 * Gives each simulated device NATS credentials of its own that expire after `ttlMs`: its agent
 * renews them on `.credentials` at 2/3 of their lifetime, as a registered real device does.
 */
export async function withCredentials(
  specs: readonly SimulatedDeviceSpec[], trust: NatsTrust, ttlMs: number, now = new Date(),
): Promise<SimulatedDeviceSpec[]> {
  const expiresAt = new Date(now.getTime() + ttlMs);
  return Promise.all(specs.map(async (spec) => ({
    ...spec, credentials: (await mintDeviceCredentials(trust, spec.deviceId, { expiresAt, issuedAt: now })).creds,
  })));
}

/** Counts what the fleet does between prints; on a terminal the line is redrawn in place. */
class FleetStatusLine {
  private swaps = 0;
  private readonly lastModel = new Map<string, string | undefined>();
  private allOnlineMs: number | undefined;

  constructor(private readonly fleet: FleetSimulator, private readonly io: CliIo, private readonly startedAt: number) {
    for (const agent of fleet.agents) this.lastModel.set(agent.deviceId, agent.activeModelId);
  }

  read(): FleetStatus {
    const models: Record<string, number> = {};
    let online = 0;
    for (const agent of this.fleet.agents) {
      if (agent.online) online++;
      const model = agent.activeModelId;
      if (model !== this.lastModel.get(agent.deviceId)) {
        if (model !== undefined) this.swaps++;
        this.lastModel.set(agent.deviceId, model);
      }
      models[model ?? 'none'] = (models[model ?? 'none'] ?? 0) + 1;
    }
    return {
      devices: this.fleet.agents.length, online, models, swaps: this.swaps,
      inferences: this.fleet.load.counts.started, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
  }

  print(): void {
    const s = this.read();
    if (this.allOnlineMs === undefined && s.online === s.devices) {
      this.allOnlineMs = performance.now() - this.startedAt;
      this.io.stderr.write(`all ${s.devices} devices online in ${Math.round(this.allOnlineMs)} ms (RSS ${s.rssMb} MB)\n`);
    }
    const models = Object.entries(s.models).sort(([a], [b]) => a.localeCompare(b)).map(([m, n]) => `${m}:${n}`).join(' ');
    const line = `online ${s.online}/${s.devices} | models ${models} | swaps ${s.swaps} | inferences ${s.inferences} | RSS ${s.rssMb} MB`;
    this.io.stdout.write(this.io.stdout.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}

function stopOn(signal: AbortSignal | undefined): { stopped: Promise<void>; dispose(): void } {
  if (signal) {
    return { stopped: signal.aborted ? Promise.resolve() : new Promise((r) => signal.addEventListener('abort', () => r(), { once: true })), dispose: () => undefined };
  }
  let onSignal: (() => void) | undefined;
  const stopped = new Promise<void>((r) => (onSignal = r));
  const handler = () => onSignal?.();
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return { stopped, dispose: () => { process.off('SIGINT', handler); process.off('SIGTERM', handler); } };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the ${what} ${path}: ${(error as Error).message}`);
  }
}

function parseTrust(text: string, path: string): NatsTrust {
  try {
    return parseNatsTrust(text, `file ${path}`);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

function usageFailure(io: CliIo, problem: string): number {
  io.stderr.write(`error: ${problem}\n\n${SIMULATE_USAGE}\n`);
  return EXIT_USAGE;
}

export const FLEET: CommandGroup = {
  name: 'fleet',
  commands: {
    simulate: { summary: 'run many simulated devices in this process (--devices, --nats, --rate, --creds-from-trust)', run: fleetSimulate },
  },
};

/** `hotswap fleet <simulate> …` */
export const fleet = (args: readonly string[], io: CliIo): Promise<number> => runGroup(FLEET, args, io);

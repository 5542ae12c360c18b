/**
 * A real nats-server for integration tests: started on a free loopback port with its own
 * JetStream store directory, killed and restarted on the same port and directory for outage tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export interface NatsServerOptions {
  /** Enable JetStream (`-js`). Default true. */
  readonly jetstream?: boolean;
  /** JetStream store directory (`-sd`). Default: a fresh temp dir, removed by `stop()`. */
  readonly storeDir?: string;
  /** Client port. Default: a free port. */
  readonly port?: number;
  /** Path of a server config file (`-c`), for auth, leaf nodes and the like. */
  readonly config?: string;
  /** How long to wait for the server to accept connections, in ms. Default 15000. */
  readonly startTimeoutMs?: number;
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Stops the server gracefully (SIGTERM) and removes the store dir if the harness created it. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL and keeps its store dir, as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again (stopping it first if it runs) on the same port and store dir. */
  restart(): Promise<void>;
}

export class NatsServerStartError extends Error {
  override readonly name = 'NatsServerStartError';
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';
  const port = options.port ?? (await freePort());
  const ownsStoreDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), 'hotswap-nats-')));
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (options.jetstream ?? true) args.push('-js', '-sd', storeDir);
  if (options.config) args.push('-c', options.config);

  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let output = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      // Keep only the tail: enough to explain a failed start.
      output = (output + chunk.toString()).slice(-4000);
    });
    const exited = new Promise<string>((resolve) => {
      proc.once('error', (error) => resolve(error.message));
      proc.once('exit', (code, signal) => resolve(`exited with ${signal ?? code}`));
    });
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const outcome = await Promise.race([canConnect(port).then((ok) => (ok ? 'ready' : 'retry')), exited]);
      if (outcome === 'ready') return;
      if (outcome !== 'retry') {
        child = undefined;
        throw new NatsServerStartError(`nats-server (${bin} ${args.join(' ')}) ${outcome}: ${output.trim()}`);
      }
      if (Date.now() > deadline) {
        await terminate('SIGKILL');
        throw new NatsServerStartError(`nats-server did not accept connections on port ${port} within ${startTimeoutMs} ms: ${output.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };

  try {
    await launch();
  } catch (error) {
    if (ownsStoreDir) await rm(storeDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      await terminate('SIGTERM');
      if (ownsStoreDir) await rm(storeDir, { recursive: true, force: true });
    },
    kill: () => terminate('SIGKILL'),
    async restart() {
      await terminate('SIGTERM');
      await launch();
    },
  };
}

export interface NatsCluster {
  /** One per node, in start order: each can be stopped, killed or restarted on its own. */
  readonly nodes: readonly NatsServer[];
  /** Every node's client URL, comma-separated, as NATS_URL takes them. */
  readonly url: string;
  /** Stops every node and removes their store dirs. */
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  /** How long to wait for JetStream to elect its meta leader once every node runs, in ms. Default 30000. */
  readonly readyTimeoutMs?: number;
}

/**
 * A `size`-node nats-server cluster on loopback with JetStream (distinct server names and store
 * dirs, full-mesh routes), for tests of replicated streams and services spread over nodes.
 * Resolves once JetStream answers: its meta group has a leader, so R`size` streams can be created.
 */
export async function startNatsCluster(size = 3, options: NatsClusterOptions = {}): Promise<NatsCluster> {
  if (!Number.isInteger(size) || size < 2) throw new RangeError(`a cluster needs at least 2 nodes, got ${size}`);
  const configDir = await mkdtemp(join(tmpdir(), 'hotswap-nats-cluster-'));
  const routePorts = await distinctFreePorts(size);
  const nodes: NatsServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await rm(configDir, { recursive: true, force: true });
  };
  try {
    const configs = await Promise.all(routePorts.map(async (routePort, i) => {
      const file = join(configDir, `n${i + 1}.conf`);
      const routes = routePorts.filter((p) => p !== routePort).map((p) => `"nats-route://127.0.0.1:${p}"`);
      await writeFile(file, [
        `server_name: "n${i + 1}"`,
        'cluster {',
        '  name: "hotswap-test"',
        `  listen: "127.0.0.1:${routePort}"`,
        `  routes: [${routes.join(', ')}]`,
        '}',
        '',
      ].join('\n'));
      return file;
    }));
    const ports = await distinctFreePorts(size, new Set(routePorts));
    const started = await Promise.allSettled(configs.map((config, i) => startNatsServer({ config, port: ports[i] })));
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await waitForJetStream(nodes[0]!.url, options.readyTimeoutMs ?? 30_000);
    return { nodes, url: nodes.map((n) => n.url).join(','), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `count` ports free a moment ago, none repeated and none in `taken`. */
async function distinctFreePorts(count: number, taken: ReadonlySet<number> = new Set()): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = await freePort();
    if (!taken.has(port)) ports.add(port);
  }
  return [...ports];
}

async function waitForJetStream(url: string, timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: url });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
        return;
      } catch (error) {
        // No meta leader yet: the routes are still forming or the election runs.
        if (Date.now() > deadline) throw new NatsServerStartError(`the cluster's JetStream did not answer within ${timeoutMs} ms: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await nc.close();
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * A real nats-server for integration tests: started on a free loopback port with its own
 * JetStream store directory, killed and restarted on the same port and directory for outage tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join } from 'node:path';

export class NatsServerMissingError extends Error {
  override readonly name = 'NatsServerMissingError';
}

/** Where distributions install nats-server when it is not on the PATH (Debian puts it in /usr/sbin). */
export const NATS_SERVER_LOCATIONS = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server'];

/** Finds the nats-server binary: `NATS_SERVER_BIN` when set, else the PATH, then the usual places. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env, locations = NATS_SERVER_LOCATIONS): string {
  const configured = env['NATS_SERVER_BIN'];
  if (configured) {
    try {
      accessSync(configured, constants.X_OK);
      return configured;
    } catch {
      throw new NatsServerMissingError(`NATS_SERVER_BIN=${configured} is not an executable file.`);
    }
  }
  const candidates = [...(env['PATH'] ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'nats-server')), ...locations];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new NatsServerMissingError(
    'nats-server was not found. Install it (Debian/Ubuntu: `apt-get install nats-server`; macOS: `brew install nats-server`) ' +
      'or point NATS_SERVER_BIN at the binary.',
  );
}

export interface NatsServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a local nats-server with JetStream, its store under `storeDir`, and waits until it listens. */
export async function startNatsServer(options: {
  host: string;
  port: number;
  storeDir: string;
  binary?: string;
  /** A config file (`-c`): auth (operator mode), leaf nodes... Listen address, port and store come from the other options. */
  configFile?: string;
}): Promise<NatsServerProcess> {
  const binary = options.binary ?? findNatsServer();
  mkdirSync(options.storeDir, { recursive: true });
  if (await listening(options.host, options.port)) {
    throw new Error(`port ${options.port} is taken; set HOTSWAP_NATS_PORT to a free port`);
  }
  const args = [...(options.configFile ? ['-c', options.configFile] : []), '-a', options.host, '-p', String(options.port), '-js', '-sd', options.storeDir];
  const child = spawn(binary, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await listening(options.host, options.port))) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode}: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nats-server did not listen on ${options.host}:${options.port} within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `nats://${options.host}:${options.port}`,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

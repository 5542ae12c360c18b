import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueDevToken } from '@hotswap/gateway';
import { createNatsTrust, generateSigningKeyPair, LocalFileArtifactStore, PgliteDatabase } from '@hotswap/infrastructure';
import { startNatsServer } from '@hotswap/infrastructure/testing';
import type { Role } from '@hotswap/contracts';
import { startControlPlane, type ControlPlane } from '../../embedded/control-plane.js';
import type { CliIo } from '../support/cli.js';
import { captureStream, type CapturedStream } from './capture-stream.js';

export { captureStream, type CapturedStream };

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliHarness {
  readonly controlPlane: ControlPlane;
  /** The control plane's nats-server (anonymous connections). */
  readonly natsUrl: string;
  /** A temp directory the test may write files into; removed by `close`. */
  readonly dir: string;
  readonly jwtSecret: string;
  /** HOTSWAP_URL and an Admin HOTSWAP_TOKEN for the control plane. */
  readonly env: NodeJS.ProcessEnv;
  token(roles: Role[]): Promise<string>;
  /** Runs a command function with captured output; `io` overrides the env and streams. */
  run(command: (args: readonly string[], io: CliIo) => Promise<number>, args: readonly string[], io?: Partial<CliIo>): Promise<CliRun>;
  close(): Promise<void>;
}

/** The whole control plane in-process (its own nats-server, in-memory PGlite, temp artifact store). */
export async function startCliHarness(): Promise<CliHarness> {
  const nats = await startNatsServer({ jetstream: true });
  const db = await PgliteDatabase.open();
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-cli-'));
  const jwtSecret = 'cli-test-jwt-secret';
  const controlPlane = await startControlPlane({
    natsUrl: nats.url,
    db,
    artifacts: new LocalFileArtifactStore({ rootDir: join(dir, 'artifacts') }),
    secrets: { jwtSecret, urlSigningSecret: 'cli-url-secret', manifestPrivateKeyPem: generateSigningKeyPair().privateKeyPem, natsTrust: await createNatsTrust() },
    http: { host: '127.0.0.1', port: 0 },
    quiet: true,
  });
  const token = (roles: Role[]) => issueDevToken({ secret: jwtSecret, subject: 'cli-test', roles, ttlSeconds: 600 });
  const env = { HOTSWAP_URL: controlPlane.url, HOTSWAP_TOKEN: await token(['Admin']), HOTSWAP_DATA_DIR: join(dir, 'no-data-dir') };
  return {
    controlPlane, natsUrl: nats.url, dir, jwtSecret, env, token,
    run: async (command, args, io = {}) => {
      const stdout = captureStream();
      const stderr = captureStream();
      const code = await command(args, { stdout, stderr, env, ...io });
      return { code, stdout: (io.stdout as CapturedStream | undefined)?.text ?? stdout.text, stderr: (io.stderr as CapturedStream | undefined)?.text ?? stderr.text };
    },
    close: async () => {
      await controlPlane.close();
      await db.close();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

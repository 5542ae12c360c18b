/**
 * The production topology for devices behind a NATS leaf node: the embedded control plane on a hub
 * nats-server (JetStream), the edge agents on a leaf nats-server (no JetStream) that links to the
 * hub, and a way to cut the leaf and bring it back on the same port.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EdgeAgent, silentLogger, type EdgeAgentOptions } from '@hotswap/edge-agent';
import { generateSigningKeyPair, LocalFileArtifactStore, PgliteDatabase } from '@hotswap/infrastructure';
import { eventually, freePort, startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { startControlPlane, type ControlPlane } from '@hotswap/cli';
import { controlPlaneClient, E2E_DISTRIBUTOR, type ControlPlaneClient } from './e2e-stack.js';

export interface LeafTopology extends ControlPlaneClient {
  readonly hub: NatsServer;
  readonly leaf: NatsServer;
  readonly controlPlane: ControlPlane;
  readonly dataDir: string;
  /**
   * An edge agent on the leaf (not started; stopped by `close`): an eu-central-1 edge camera that
   * reconnects and retries quickly, so a suite sees it recover within seconds of `restoreLeaf`.
   */
  makeAgent(deviceId: string, tag: string, overrides?: Partial<EdgeAgentOptions>): EdgeAgent;
  /** Whether a request from the hub reaches a responder on the leaf: the leaf link is up. */
  linkUp(): Promise<boolean>;
  /** Kills the leaf nats-server at once: the link and the agents' connections drop mid-flight. */
  cutLeaf(): Promise<void>;
  /** Starts the leaf again on the same port: it redials the hub and the agents reconnect to it. */
  restoreLeaf(): Promise<void>;
  close(): Promise<void>;
}

/** `name` keeps the suites apart: secrets, temp dir and the link probe's subject are named after it. */
export async function startLeafTopology(name: string): Promise<LeafTopology> {
  const jwtSecret = `${name}-jwt-secret`;
  const dataDir = await mkdtemp(join(tmpdir(), `hotswap-${name}-`));
  const agents: EdgeAgent[] = [];
  let hub: NatsServer | undefined;
  let leaf: NatsServer | undefined;
  let db: PgliteDatabase | undefined;
  let controlPlane: ControlPlane | undefined;

  const close = async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await controlPlane?.close();
    await db?.close();
    await leaf?.stop();
    await hub?.stop();
    await rm(dataDir, { recursive: true, force: true });
  };

  const linkUp = async (): Promise<boolean> => {
    let onLeaf: NatsConnection | undefined;
    let onHub: NatsConnection | undefined;
    try {
      onLeaf = await connect({ servers: leaf!.url, reconnect: false });
      onLeaf.subscribe(`${name}.ping`, { callback: (_e, msg) => { msg.respond('pong'); } });
      await onLeaf.flush();
      onHub = await connect({ servers: hub!.url, reconnect: false });
      return (await onHub.request(`${name}.ping`, '', { timeout: 500 })).string() === 'pong';
    } catch {
      return false;
    } finally {
      await onLeaf?.close();
      await onHub?.close();
    }
  };

  try {
    const leafPort = await freePort();
    await writeFile(join(dataDir, 'hub.conf'), `leafnodes { listen: "127.0.0.1:${leafPort}" }\n`);
    // The leaf redials the hub every second while the link is down (whole seconds only).
    await writeFile(join(dataDir, 'leaf.conf'), `leafnodes { reconnect: 1, remotes = [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }\n`);
    hub = await startNatsServer({ jetstream: true, config: join(dataDir, 'hub.conf') });
    leaf = await startNatsServer({ jetstream: false, config: join(dataDir, 'leaf.conf') });
    await eventually(linkUp, (up) => up, 30_000, 100);

    db = await PgliteDatabase.open();
    const keys = generateSigningKeyPair();
    controlPlane = await startControlPlane({
      natsUrl: hub.url, db,
      artifacts: new LocalFileArtifactStore({ rootDir: join(dataDir, 'artifacts') }),
      secrets: { jwtSecret, urlSigningSecret: `${name}-url-secret`, manifestPrivateKeyPem: keys.privateKeyPem },
      http: { host: '127.0.0.1', port: 0 },
      quiet: true,
      distributor: E2E_DISTRIBUTOR,
    });
    const [hubServer, leafServer] = [hub, leaf];
    return {
      ...controlPlaneClient(controlPlane.url, jwtSecret, 'leaf-admin'),
      hub: hubServer, leaf: leafServer, controlPlane, dataDir, linkUp, close,
      makeAgent: (deviceId, tag, overrides = {}) => {
        const agent = new EdgeAgent({
          deviceId, deviceType: 'edge-camera', region: 'eu-central-1', tags: [tag],
          capabilities: { cpuCores: 2, gpu: false, memoryMb: 2048, storageMb: 8192 },
          natsServers: leafServer.url, natsOptions: { reconnectTimeWait: 100 },
          dataDir: join(dataDir, 'devices', deviceId), manifestPublicKeyPem: keys.publicKeyPem,
          heartbeatIntervalMs: 200, telemetryIntervalMs: 500, graceMs: 50, requestTimeoutMs: 500, retryMaxDelayMs: 300, logger: silentLogger,
          ...overrides,
        });
        agents.push(agent);
        return agent;
      },
      cutLeaf: () => leafServer.kill(),
      restoreLeaf: () => leafServer.restart(),
    };
  } catch (error) {
    // A half-started topology would leave nats-servers running behind the failed suite.
    await close().catch(() => undefined);
    throw error;
  }
}

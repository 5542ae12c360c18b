/**
 * The gateway on a real nats-server and a real local artifact store, with the test playing the
 * services on NATS: what the route specs share.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import type { Role } from '@hotswap/contracts';
import { LocalFileArtifactStore, MessageBus, type BusSubscription, type ValidationResult } from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { createGatewayApp } from '../create-gateway-app.js';
import type { GatewayDeps } from '../gateway-deps.js';
import { issueDevToken } from '../auth/tokens.js';

export const HARNESS_NOW = new Date('2030-06-01T12:00:00.000Z');
const quiet = { warn: () => undefined, error: () => undefined };

export interface GatewayHarness {
  readonly baseUrl: string;
  readonly store: LocalFileArtifactStore;
  readonly storeDir: string;
  readonly jwtSecret: string;
  /** Answers `subject` as a service would, recording what it was asked. */
  serve<T>(subject: string, handler: (payload: T) => unknown): Promise<T[]>;
  /** Stops the handlers `serve` started (call it before each test). */
  resetHandlers(): Promise<void>;
  /** A bearer token of user `dora` with `roles`. */
  token(roles: Role[]): Promise<string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape; the assertions say what it must be
  call(path: string, roles: Role[], init?: RequestInit): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** `jetstream`: routes backed by NATS KV (API keys, rate limits) need it. */
export async function startGatewayHarness(name: string, deps: Partial<GatewayDeps> = {}, options: { jetstream?: boolean } = {}): Promise<GatewayHarness> {
  const jwtSecret = `${name}-jwt`;
  const nats: NatsServer = await startNatsServer({ jetstream: options.jetstream ?? false });
  const gatewayConnection: NatsConnection = await connect({ servers: nats.url });
  const servicesConnection: NatsConnection = await connect({ servers: nats.url });
  const services = new MessageBus(servicesConnection, { logger: quiet });
  const storeDir = await mkdtemp(join(tmpdir(), `hotswap-gateway-${name}-`));
  const store = new LocalFileArtifactStore({ rootDir: storeDir });
  const app: INestApplication = await createGatewayApp({
    bus: new MessageBus(gatewayConnection, { logger: quiet }), artifacts: store,
    jwtSecret, urlSigningSecret: 'url', maxUploadBytes: 1024, clock: () => HARNESS_NOW, requestTimeoutMs: 1_500,
    ...deps,
  }, { port: 0, host: '127.0.0.1', logger: false });
  const baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  const handlers: BusSubscription[] = [];
  const token = (roles: Role[]) => issueDevToken({ secret: jwtSecret, subject: 'dora', roles, ttlSeconds: 600, now: HARNESS_NOW });

  return {
    baseUrl, store, storeDir, jwtSecret, token,
    serve: async <T>(subject: string, handler: (payload: T) => unknown) => {
      const received: T[] = [];
      handlers.push(await services.handle(subject, {
        queue: 'gateway-test',
        validate: (payload: unknown): ValidationResult<T> => ({ ok: true, value: payload as T }),
        handler: (payload) => {
          received.push(payload);
          return handler(payload);
        },
      }));
      return received;
    },
    resetHandlers: async () => {
      await Promise.all(handlers.splice(0).map((h) => h.close()));
    },
    call: async (path, roles, init = {}) => {
      const response = await fetch(`${baseUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${await token(roles)}`, ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
      });
      const raw = await response.text();
      return { status: response.status, body: raw ? JSON.parse(raw) : undefined };
    },
    close: async () => {
      await Promise.all(handlers.splice(0).map((h) => h.close()));
      await app.close();
      await gatewayConnection.close();
      await servicesConnection.close();
      await nats.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

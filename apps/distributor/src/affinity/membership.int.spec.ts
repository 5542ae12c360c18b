import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ServiceRuntime } from '@hotswap/infrastructure';
import type { DistributorOptions } from '../distributor.options.js';
import { Membership } from './membership.js';

const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const LEASE_MS = 300; // heartbeats every 100 ms

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: NATS_URL });
});
afterAll(async () => {
  await nc?.close();
});

describe('distributor membership heartbeats', () => {
  it('runs one heartbeat at a time, and a failing one is logged, never left unhandled', async () => {
    const warnings: string[] = [];
    const runtime = {
      nats: nc, clock: () => new Date(),
      logger: { debug: () => undefined, info: () => undefined, warn: (_m: string, f?: Record<string, unknown>) => warnings.push(String(f?.['error'])), error: () => undefined },
    } as unknown as ServiceRuntime;
    const membership = new Membership(runtime, { instanceId: `member-${randomUUID().slice(0, 8)}`, ownershipLeaseMs: LEASE_MS } as DistributorOptions);
    await membership.onModuleInit();
    let running = 0;
    let peak = 0;
    let calls = 0;
    // Each heartbeat takes 2.5 ticks (shorter than the lease), then fails as a closed connection would.
    membership.heartbeat = async () => {
      calls++;
      peak = Math.max(peak, ++running);
      await sleep(250);
      running--;
      throw new Error('connection closed');
    };
    try {
      await sleep(1_200);
    } finally {
      await membership.onModuleDestroy();
    }
    expect(peak).toBe(1);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(5);
    expect(warnings).toEqual(Array.from({ length: calls }, () => 'Error: connection closed'));
  });
});

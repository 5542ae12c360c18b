import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm, type KV } from '@nats-io/kv';
import { DISTRIBUTOR_MEMBERS_BUCKET } from '@hotswap/contracts';
import { hashRing, type HashRing } from '@hotswap/domain';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DISTRIBUTOR_OPTIONS, type DistributorOptions } from '../distributor.options.js';

interface Member {
  /** Epoch ms of the member's last heartbeat. */
  readonly renewedAt: number;
}

/** A change of the live instances, as this instance saw it. */
export interface MembershipChange {
  readonly joined: readonly string[];
  readonly left: readonly string[];
  readonly ring: HashRing;
}

/**
 * The live distributor instances: each puts a heartbeat under its instance id in the KV bucket
 * `hotswap-distributor-members` every third of `ownershipLeaseMs`, and counts as gone once its
 * heartbeat is older than the lease (the same lease as distribution ownership, so a silent
 * instance loses its distributions and its devices together). The hash ring over the live
 * members says which instance drives which device.
 */
@Injectable()
export class Membership implements OnModuleInit, OnModuleDestroy {
  private kv?: KV;
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;
  private current: HashRing;
  private readonly listeners: Array<(change: MembershipChange) => void | Promise<void>> = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DISTRIBUTOR_OPTIONS) private readonly options: DistributorOptions,
  ) {
    // Alone until the first heartbeat has read the bucket: a lone instance drives every device.
    this.current = hashRing([options.instanceId]);
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  get ring(): HashRing {
    return this.current;
  }

  /** The instance that drives `deviceId` as this instance currently sees the fleet of instances. */
  ownerOf(deviceId: string): string {
    return this.current.ownerOf(deviceId) ?? this.options.instanceId;
  }

  onChange(listener: (change: MembershipChange) => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  async onModuleInit(): Promise<void> {
    // The bucket's TTL only sweeps the keys of instances that died; liveness is the lease below.
    this.kv = await new Kvm(this.runtime.nats).create(DISTRIBUTOR_MEMBERS_BUCKET, { history: 1, ttl: Math.max(60_000, this.options.ownershipLeaseMs * 10) });
    await this.heartbeat();
    const every = Math.max(50, Math.floor(this.options.ownershipLeaseMs / 3));
    this.timer = setInterval(() => {
      // One heartbeat at a time (one started beside a running one had nobody to catch its failure).
      if (this.beating) return;
      // A heartbeat stuck on a KV read must not freeze the membership: past the lease the next one starts anyway.
      const beat = Promise.race([this.heartbeat(), sleep(this.options.ownershipLeaseMs).then(() => { throw new Error('membership heartbeat took longer than the lease'); })]);
      this.beating = beat.catch((error: unknown) => {
        this.runtime.logger.warn('membership heartbeat failed', { error: String(error) });
      }).finally(() => { this.beating = undefined; });
    }, every);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    // Leaving on purpose: the others take our devices over at their next heartbeat, not after the lease.
    await this.kv?.delete(this.options.instanceId).catch(() => undefined);
  }

  /** Renews our own entry and re-reads the live members; tells the listeners what changed. */
  async heartbeat(): Promise<void> {
    const kv = this.bucket();
    const now = this.runtime.clock().getTime();
    await kv.put(this.options.instanceId, JSON.stringify({ renewedAt: now } satisfies Member));
    const live = new Set<string>([this.options.instanceId]);
    for await (const key of await kv.keys()) {
      if (key === this.options.instanceId) continue;
      const entry = await kv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      const member = entry.json<Member>();
      if (now - member.renewedAt < this.options.ownershipLeaseMs) live.add(key);
    }
    const before = new Set(this.current.members);
    const joined = [...live].filter((m) => !before.has(m)).sort();
    const left = [...before].filter((m) => !live.has(m)).sort();
    if (joined.length === 0 && left.length === 0) return;
    this.current = hashRing(live);
    this.runtime.logger.info('distributor instances changed', { instance: this.options.instanceId, joined, left, members: this.current.members });
    // Listeners (re-drives) run beside the heartbeats, never holding the next one up.
    for (const listener of this.listeners) void Promise.resolve(listener({ joined, left, ring: this.current })).catch((error: unknown) => {
      this.runtime.logger.warn('membership listener failed', { error: String(error) });
    });
  }

  private bucket(): KV {
    if (!this.kv) throw new Error('distributor-members bucket is not open yet');
    return this.kv;
  }
}

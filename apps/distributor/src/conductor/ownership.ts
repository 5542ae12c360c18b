import { Inject, Injectable } from '@nestjs/common';
import { Kvm, type KV } from '@nats-io/kv';
import { DISTRIBUTION_OWNERS_BUCKET } from '@hotswap/contracts';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DISTRIBUTOR_OPTIONS, type DistributorOptions } from '../distributor.options.js';

interface Claim {
  readonly owner: string;
  /** Epoch ms of the owner's last renewal. */
  readonly renewedAt: number;
}

/** What `acquire` found: the distribution is ours now (maybe taken over from a silent owner), or someone else's. */
export type Acquired = { readonly mine: true; readonly tookOverFrom?: string } | { readonly mine: false; readonly owner: string };

/**
 * Which distributor instance drives which distribution: a claim per distribution in the KV bucket
 * `hotswap-distribution-owners`, renewed by its owner every tick. Writes are compare-and-set on
 * the key's revision, so two instances never both own one; a claim not renewed for
 * `ownershipLeaseMs` is taken over by the next instance that looks.
 */
@Injectable()
export class Ownership {
  private kv?: KV;
  /** Revision of our own claim per distribution, for compare-and-set renewals. */
  private readonly revisions = new Map<string, number>();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DISTRIBUTOR_OPTIONS) private readonly options: DistributorOptions,
  ) {}

  get instanceId(): string {
    return this.options.instanceId;
  }

  /** Claims or renews the distribution for this instance, unless another live instance owns it. */
  async acquire(distributionId: string): Promise<Acquired> {
    const kv = await this.bucket();
    const now = this.runtime.clock().getTime();
    const value = JSON.stringify({ owner: this.options.instanceId, renewedAt: now } satisfies Claim);
    const entry = await kv.get(distributionId);
    try {
      if (entry === null || entry.operation !== 'PUT') {
        const revision = entry === null ? await kv.create(distributionId, value) : await kv.update(distributionId, value, entry.revision);
        this.revisions.set(distributionId, revision);
        return { mine: true };
      }
      const claim = entry.json<Claim>();
      if (claim.owner !== this.options.instanceId && now - claim.renewedAt < this.options.ownershipLeaseMs) {
        this.revisions.delete(distributionId);
        return { mine: false, owner: claim.owner };
      }
      this.revisions.set(distributionId, await kv.update(distributionId, value, entry.revision));
      return claim.owner === this.options.instanceId ? { mine: true } : { mine: true, tookOverFrom: claim.owner };
    } catch {
      // Another instance wrote the claim first.
      this.revisions.delete(distributionId);
      const now2 = await kv.get(distributionId);
      return { mine: false, owner: now2?.operation === 'PUT' ? now2.json<Claim>().owner : 'unknown' };
    }
  }

  /** Gives the distribution up (it finished, or this instance stops). */
  async release(distributionId: string): Promise<void> {
    const revision = this.revisions.get(distributionId);
    this.revisions.delete(distributionId);
    if (revision === undefined) return;
    await (await this.bucket()).delete(distributionId, { previousSeq: revision }).catch(() => undefined);
  }

  /** The distributions this instance owns. */
  owned(): string[] {
    return [...this.revisions.keys()];
  }

  private async bucket(): Promise<KV> {
    this.kv ??= await new Kvm(this.runtime.nats).create(DISTRIBUTION_OWNERS_BUCKET, { history: 1 });
    return this.kv;
  }
}

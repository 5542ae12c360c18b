import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Kvm, type KV } from '@nats-io/kv';
import { TARGET_CLAIMS_BUCKET } from '@hotswap/contracts';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { CodedError } from '../planning/plan-requests.js';

/** Claims are made this many at a time. */
const BATCH = 200;

/**
 * The rule for two distributions that target the same device: the later one is refused (409,
 * naming the devices and the distribution that holds them), so no device flip-flops between two
 * rollouts. A claim is a KV `create` (atomic across distributor instances) and is released when
 * the distribution finishes.
 */
@Injectable()
export class TargetClaims implements OnModuleInit {
  private kv?: KV;

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async onModuleInit(): Promise<void> {
    await this.bucket();
  }

  /**
   * Claims every device for the distribution, or none: on a conflict the claims made so far are
   * released and CONFLICT is thrown. `isFinished` tells whether a holder is done (its release was
   * missed, e.g. the process died): such a stale claim is taken over.
   */
  async claim(distributionId: string, deviceIds: readonly string[], isFinished: (holder: string) => Promise<boolean>): Promise<void> {
    const kv = await this.bucket();
    const claimed: string[] = [];
    const conflicts: { deviceId: string; distributionId: string }[] = [];
    for (let i = 0; i < deviceIds.length; i += BATCH) {
      await Promise.all(deviceIds.slice(i, i + BATCH).map(async (deviceId) => {
        const holder = await this.take(kv, deviceId, distributionId, isFinished);
        if (holder === distributionId) claimed.push(deviceId);
        else conflicts.push({ deviceId, distributionId: holder });
      }));
      if (conflicts.length > 0) break;
    }
    if (conflicts.length === 0) return;
    await this.release(distributionId, claimed);
    const holders = [...new Set(conflicts.map((c) => c.distributionId))];
    throw new CodedError(
      'CONFLICT',
      `${conflicts.length === 1 ? 'device' : 'devices'} ${conflicts.slice(0, 10).map((c) => c.deviceId).join(', ')}${conflicts.length > 10 ? ` and ${conflicts.length - 10} more` : ''} `
        + `already belong to the active distribution${holders.length > 1 ? 's' : ''} ${holders.join(', ')}; a device follows one distribution at a time `
        + '(wait for it to finish, or cancel it)',
      { conflicts },
    );
  }

  /** Releases the devices this distribution holds (claims held by others are left alone). */
  async release(distributionId: string, deviceIds: readonly string[]): Promise<void> {
    const kv = await this.bucket();
    for (let i = 0; i < deviceIds.length; i += BATCH) {
      await Promise.all(deviceIds.slice(i, i + BATCH).map(async (deviceId) => {
        const entry = await kv.get(deviceId);
        if (entry === null || entry.operation !== 'PUT' || entry.string() !== distributionId) return;
        await kv.delete(deviceId, { previousSeq: entry.revision }).catch(() => undefined);
      }));
    }
  }

  /** The distribution that holds the device, if any. */
  async holder(deviceId: string): Promise<string | undefined> {
    const entry = await (await this.bucket()).get(deviceId);
    return entry !== null && entry.operation === 'PUT' ? entry.string() : undefined;
  }

  /** Claims one device; returns who holds it afterwards. */
  private async take(kv: KV, deviceId: string, distributionId: string, isFinished: (holder: string) => Promise<boolean>): Promise<string> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const entry = await kv.get(deviceId);
      try {
        if (entry === null || entry.operation !== 'PUT') {
          // A deleted key keeps a tombstone revision: create() refuses it, update() at that revision takes it.
          if (entry === null) await kv.create(deviceId, distributionId);
          else await kv.update(deviceId, distributionId, entry.revision);
          return distributionId;
        }
        const holder = entry.string();
        if (holder === distributionId) return holder;
        if (!(await isFinished(holder))) return holder;
        await kv.update(deviceId, distributionId, entry.revision);
        return distributionId;
      } catch {
        // Someone else wrote the key between our read and write: read again.
      }
    }
    return (await this.holder(deviceId)) ?? 'a concurrent distribution';
  }

  private async bucket(): Promise<KV> {
    this.kv ??= await new Kvm(this.runtime.nats).create(TARGET_CLAIMS_BUCKET, { history: 1 });
    return this.kv;
  }
}

import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Kvm, type KV } from '@nats-io/kv';
import { DESIRED_STATE_BUCKET } from '@hotswap/contracts';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import type { DesiredModel } from './swap-commands.js';

/** The KV value: the desired model, and whether the device acknowledged its command. */
export type DesiredEntry = DesiredModel & { readonly delivered?: true };

/**
 * Each device's desired model in the KV bucket `hotswap-desired` (key = device id): a device that
 * was offline during a rollout converges when it asks `sync` on reconnect.
 */
@Injectable()
export class DesiredState implements OnModuleInit {
  private kv?: KV;

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async onModuleInit(): Promise<void> {
    this.kv = await new Kvm(this.runtime.nats).create(DESIRED_STATE_BUCKET, { history: 5 });
  }

  async set(deviceId: string, desired: DesiredModel): Promise<void> {
    await this.bucket().put(deviceId, JSON.stringify(desired));
  }

  async get(deviceId: string): Promise<DesiredEntry | undefined> {
    const entry = await this.bucket().get(deviceId);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    return entry.json<DesiredEntry>();
  }

  /**
   * Notes that the device acknowledged `commandId`, so that an instance taking the device over
   * does not send it again. Compare-and-set: a newer desired model written meanwhile is kept.
   */
  async markDelivered(deviceId: string, commandId: string): Promise<void> {
    const kv = this.bucket();
    const entry = await kv.get(deviceId);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return;
    const value = entry.json<DesiredEntry>();
    if (value.commandId !== commandId || value.delivered) return;
    await kv.update(deviceId, JSON.stringify({ ...value, delivered: true }), entry.revision).catch(() => undefined);
  }

  /** Every device that has a desired model. */
  async devices(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of await this.bucket().keys()) keys.push(key);
    return keys;
  }

  /** Forgets the device's desired model (a deregistered device). Opens the bucket if needed: projections may call it during start-up. */
  async clear(deviceId: string): Promise<void> {
    this.kv ??= await new Kvm(this.runtime.nats).create(DESIRED_STATE_BUCKET, { history: 5 });
    await this.kv.delete(deviceId);
  }

  private bucket(): KV {
    if (!this.kv) throw new Error('desired-state bucket is not open yet');
    return this.kv;
  }
}

import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Kvm, type KV } from '@nats-io/kv';
import { DESIRED_STATE_BUCKET } from '@hotswap/contracts';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import type { DesiredModel } from './swap-commands.js';

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

  async get(deviceId: string): Promise<DesiredModel | undefined> {
    const entry = await this.bucket().get(deviceId);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    return entry.json<DesiredModel>();
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

import { Inject, Injectable } from '@nestjs/common';
import type { DeviceEvent } from '@hotswap/contracts';
import {
  ProjectedReadModel, SERVICE_RUNTIME, type Projection, type ServiceRuntime, type SqlExecutor, type StoredEvent,
} from '@hotswap/infrastructure';
import { DesiredState } from '../../dispatch/desired-state.js';

/** Called once a deregistration is projected (after its commit). */
export type OnDeregistered = (deviceId: string, position: bigint) => void;

/**
 * The devices deregistered since their last registration, so `sync` refuses them. A new
 * registration through the API removes the row.
 */
export function deregisteredDevicesProjection(onDeregistered: OnDeregistered): Projection {
  return {
    name: 'distributor.deregistered-devices',
    eventTypes: ['DeviceRegistered', 'DeviceDeregistered'],
    migrations: [
      `CREATE TABLE IF NOT EXISTS distributor_deregistered_devices (id text PRIMARY KEY, deregistered_at text NOT NULL)`,
    ],
    async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
      for (const stored of events) {
        const event = { type: stored.type, data: stored.data } as DeviceEvent;
        if (event.type === 'DeviceRegistered') {
          await tx.query('DELETE FROM distributor_deregistered_devices WHERE id = $1', [event.data.deviceId]);
        } else if (event.type === 'DeviceDeregistered') {
          await tx.query(
            `INSERT INTO distributor_deregistered_devices (id, deregistered_at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET deregistered_at = $2`,
            [event.data.deviceId, event.data.at],
          );
          onDeregistered(event.data.deviceId, stored.position);
        }
      }
    },
  };
}

@Injectable()
export class DeregisteredDevicesReadModel extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime, desired: DesiredState) {
    // The desired state is cleared once the commit is applied, and only if the device is still
    // deregistered then: replaying an old deregistration must not erase a later registration's state.
    const hook: { onDeregistered?: OnDeregistered } = {};
    super(runtime, deregisteredDevicesProjection((deviceId, position) => hook.onDeregistered?.(deviceId, position)));
    hook.onDeregistered = (deviceId, position) => void this.clearDesired(deviceId, position, desired);
  }

  /** When `deviceId` was deregistered (ISO 8601), or undefined when it was not (or registered again since). */
  async deregisteredAt(deviceId: string): Promise<string | undefined> {
    const rows = await this.runtime.db.query<{ deregistered_at: string }>('SELECT deregistered_at FROM distributor_deregistered_devices WHERE id = $1', [deviceId]);
    return rows.rows[0]?.deregistered_at;
  }

  private async clearDesired(deviceId: string, position: bigint, desired: DesiredState): Promise<void> {
    try {
      await this.waitFor(position);
      if ((await this.deregisteredAt(deviceId)) === undefined) return;
      await desired.clear(deviceId);
      this.runtime.logger.info('cleared the desired model of a deregistered device', { deviceId });
    } catch (err) {
      this.runtime.logger.warn('cannot clear the desired model of a deregistered device', { deviceId, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

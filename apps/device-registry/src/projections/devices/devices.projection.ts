import type { DeviceCapabilities, DeviceEvent, DeviceView } from '@hotswap/contracts';
import type { Projection, SqlExecutor, StoredEvent } from '@hotswap/infrastructure';

/**
 * The fleet read model: one row per device. `last_heartbeat` is written by the heartbeat handler
 * directly (heartbeats are not events); every other column comes from device events.
 */
export const devicesProjection: Projection = {
  name: 'device-registry.devices',
  eventTypes: ['DeviceRegistered', 'DeviceDeregistered', 'DeviceCameOnline', 'DeviceWentOffline', 'DeviceUpdateStarted', 'DeviceModelActivated', 'DeviceUpdateFailed'],
  migrations: [
    `CREATE TABLE IF NOT EXISTS registry_devices (
       id text PRIMARY KEY,
       device_type text NOT NULL,
       region text NOT NULL,
       capabilities jsonb NOT NULL,
       tags jsonb NOT NULL,
       current_model_id text,
       status text NOT NULL,
       last_heartbeat timestamptz,
       last_swap_ms double precision
     )`,
    `CREATE INDEX IF NOT EXISTS registry_devices_region ON registry_devices (region)`,
    // Deleted devices leave the fleet table; this remembers them so their messages are refused with the reason.
    `CREATE TABLE IF NOT EXISTS registry_deregistered_devices (id text PRIMARY KEY, deregistered_at timestamptz NOT NULL)`,
  ],
  async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const stored of events) {
      const event = { type: stored.type, data: stored.data } as DeviceEvent;
      switch (event.type) {
        case 'DeviceRegistered': {
          const d = event.data;
          await tx.query(
            // A device is Offline until it connects (DeviceCameOnline follows when it announced itself).
            `INSERT INTO registry_devices (id, device_type, region, capabilities, tags, status)
             VALUES ($1, $2, $3, $4, $5, 'Offline')
             ON CONFLICT (id) DO UPDATE SET device_type = $2, region = $3, capabilities = $4, tags = $5`,
            [d.deviceId, d.deviceType, d.region, JSON.stringify(d.capabilities), JSON.stringify(d.tags)],
          );
          await tx.query(`DELETE FROM registry_deregistered_devices WHERE id = $1`, [d.deviceId]);
          break;
        }
        case 'DeviceDeregistered':
          await tx.query(`DELETE FROM registry_devices WHERE id = $1`, [event.data.deviceId]);
          await tx.query(
            `INSERT INTO registry_deregistered_devices (id, deregistered_at) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET deregistered_at = $2`,
            [event.data.deviceId, event.data.at],
          );
          break;
        case 'DeviceCameOnline':
          await tx.query(
            `UPDATE registry_devices SET status = 'Online', last_heartbeat = GREATEST(coalesce(last_heartbeat, $2), $2) WHERE id = $1`,
            [event.data.deviceId, event.data.at],
          );
          break;
        case 'DeviceWentOffline':
          await tx.query(`UPDATE registry_devices SET status = 'Offline' WHERE id = $1`, [event.data.deviceId]);
          break;
        case 'DeviceUpdateStarted':
          await tx.query(`UPDATE registry_devices SET status = 'Updating' WHERE id = $1`, [event.data.deviceId]);
          break;
        case 'DeviceModelActivated':
          await tx.query(
            `UPDATE registry_devices SET status = 'Online', current_model_id = $2, last_swap_ms = $3 WHERE id = $1`,
            [event.data.deviceId, event.data.modelId, event.data.swapMs],
          );
          break;
        case 'DeviceUpdateFailed':
          await tx.query(`UPDATE registry_devices SET status = 'Online' WHERE id = $1 AND status = 'Updating'`, [event.data.deviceId]);
          break;
        default:
          break;
      }
    }
  },
};

export interface DeviceRow {
  id: string; device_type: string; region: string; capabilities: DeviceCapabilities | string; tags: string[] | string;
  current_model_id: string | null; status: DeviceView['status']; last_heartbeat: Date | string | null; last_swap_ms: number | null;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export function toDeviceView(row: DeviceRow): DeviceView {
  return {
    id: row.id,
    deviceType: row.device_type,
    region: row.region,
    capabilities: json(row.capabilities),
    tags: json(row.tags),
    currentModelId: row.current_model_id,
    status: row.status,
    lastHeartbeat: row.last_heartbeat === null ? null : new Date(row.last_heartbeat).toISOString(),
    lastSwapMs: row.last_swap_ms === null ? null : Number(row.last_swap_ms),
  };
}

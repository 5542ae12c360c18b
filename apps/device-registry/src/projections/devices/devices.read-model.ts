import { Inject, Injectable } from '@nestjs/common';
import type { DeviceView, ListDevicesQuery, Page } from '@hotswap/contracts';
import { ProjectedReadModel, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { devicesProjection, toDeviceView, type DeviceRow } from './devices.projection.js';

@Injectable()
export class DevicesReadModel extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime) {
    super(runtime, devicesProjection);
  }

  async get(id: string): Promise<DeviceView | undefined> {
    const rows = await this.runtime.db.query<DeviceRow>('SELECT * FROM registry_devices WHERE id = $1', [id]);
    return rows.rows[0] && toDeviceView(rows.rows[0]);
  }

  async list(query: ListDevicesQuery & { ids?: readonly string[] }): Promise<Page<DeviceView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (p: string) => string, value: unknown) => { params.push(value); where.push(sql(`$${params.length}`)); };
    if (query.region) add((p) => `region = ${p}`, query.region);
    if (query.deviceType) add((p) => `device_type = ${p}`, query.deviceType);
    if (query.status) add((p) => `status = ${p}`, query.status);
    if (query.modelId) add((p) => `current_model_id = ${p}`, query.modelId);
    if (query.tag) add((p) => `tags @> ${p}::jsonb`, JSON.stringify([query.tag]));
    if (query.ids) add((p) => `id = ANY(${p})`, query.ids);
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.runtime.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM registry_devices ${filter}`, params);
    params.push(query.limit ?? 100, query.offset ?? 0);
    const rows = await this.runtime.db.query<DeviceRow>(
      `SELECT * FROM registry_devices ${filter} ORDER BY id LIMIT $${params.length - 1} OFFSET $${params.length}`, params,
    );
    return { items: rows.rows.map(toDeviceView), total: Number(total.rows[0]?.n ?? 0) };
  }

  /** Stores a heartbeat's time; returns the device's status, or undefined for an unknown device. */
  async touch(id: string, at: string): Promise<DeviceView['status'] | undefined> {
    const rows = await this.runtime.db.query<{ status: DeviceView['status'] }>(
      `UPDATE registry_devices SET last_heartbeat = GREATEST(coalesce(last_heartbeat, $2), $2) WHERE id = $1 RETURNING status`, [id, at],
    );
    return rows.rows[0]?.status;
  }

  /** Devices not heard from since `before` that are not yet marked offline. */
  async silentSince(before: string): Promise<Array<{ id: string; lastHeartbeat: string }>> {
    const rows = await this.runtime.db.query<{ id: string; last_heartbeat: Date | string }>(
      `SELECT id, last_heartbeat FROM registry_devices WHERE status <> 'Offline' AND last_heartbeat < $1 ORDER BY id`, [before],
    );
    return rows.rows.map((r) => ({ id: r.id, lastHeartbeat: new Date(r.last_heartbeat).toISOString() }));
  }
}

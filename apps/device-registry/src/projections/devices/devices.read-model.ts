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
    if (query.gpu !== undefined) add((p) => `(capabilities->>'gpu')::boolean = ${p}`, query.gpu);
    if (query.minMemoryMb !== undefined) add((p) => `(capabilities->>'memoryMb')::numeric >= ${p}`, query.minMemoryMb);
    if (query.minCpuCores !== undefined) add((p) => `(capabilities->>'cpuCores')::numeric >= ${p}`, query.minCpuCores);
    if (query.minStorageMb !== undefined) add((p) => `(capabilities->>'storageMb')::numeric >= ${p}`, query.minStorageMb);
    if (query.transport !== undefined) add((p) => `coalesce(capabilities->>'transport', 'http') = ${p}`, query.transport);
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

  /** When the device was deregistered, or undefined if it never was (or was registered again since). */
  async deregisteredAt(id: string): Promise<string | undefined> {
    const rows = await this.runtime.db.query<{ deregistered_at: Date | string }>(
      'SELECT deregistered_at FROM registry_deregistered_devices WHERE id = $1', [id],
    );
    const at = rows.rows[0]?.deregistered_at;
    return at === undefined ? undefined : new Date(at).toISOString();
  }

  /** Why the control plane refuses this device's messages (deregistered, or never registered), or undefined. */
  async refusalOf(id: string): Promise<string | undefined> {
    if (await this.get(id)) return undefined;
    const at = await this.deregisteredAt(id);
    return at === undefined ? `device ${id} is not registered` : `device ${id} was deregistered at ${at}`;
  }

  /** Devices per status, for the fleet gauges. */
  async countByStatus(): Promise<Partial<Record<DeviceView['status'], number>>> {
    const rows = await this.runtime.db.query<{ status: DeviceView['status']; n: string | number }>(
      'SELECT status, count(*) AS n FROM registry_devices GROUP BY status',
    );
    return Object.fromEntries(rows.rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Devices not heard from since `before` that are not yet marked offline. */
  async silentSince(before: string): Promise<Array<{ id: string; lastHeartbeat: string }>> {
    const rows = await this.runtime.db.query<{ id: string; last_heartbeat: Date | string }>(
      `SELECT id, last_heartbeat FROM registry_devices WHERE status <> 'Offline' AND last_heartbeat < $1 ORDER BY id`, [before],
    );
    return rows.rows.map((r) => ({ id: r.id, lastHeartbeat: new Date(r.last_heartbeat).toISOString() }));
  }
}

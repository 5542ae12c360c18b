import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ListDevicesQueryDto, Queries, queueGroup, Services, type ListDevicesQuery } from '@hotswap/contracts';
import { NotFoundError } from '@hotswap/domain';
import {
  closeAll, SERVICE_RUNTIME, serveHealth, validateById, validateWith, type BusSubscription, type ServiceRuntime, type ValidationResult,
} from '@hotswap/infrastructure';
import { DevicesReadModel } from '../projections/devices/devices.read-model.js';

/** `ids` (internal callers resolving targets) on top of the public list filters. */
const listQuery = async (payload: unknown): Promise<ValidationResult<ListDevicesQuery & { ids?: string[] }>> => {
  const { ids, ...rest } = (payload ?? {}) as { ids?: unknown };
  if (ids !== undefined && (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string'))) return { ok: false, reason: 'ids must be an array of strings' };
  const checked = await validateWith(ListDevicesQueryDto)(rest);
  return checked.ok ? { ok: true, value: { ...(checked.value as ListDevicesQuery), ...(ids ? { ids: ids as string[] } : {}) } } : checked;
};

@Injectable()
export class DeviceQueriesHandler implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly devices: DevicesReadModel,
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.deviceRegistry);
    const { bus } = this.runtime;
    this.subscriptions = await Promise.all([
      bus.handle(Queries.getDevice, {
        queue, validate: validateById,
        handler: async ({ id }) => {
          const device = await this.devices.get(id);
          if (!device) throw new NotFoundError(`device ${id} not found`);
          return device;
        },
      }),
      bus.handle(Queries.listDevices, { queue, validate: listQuery, handler: (q) => this.devices.list(q) }),
      serveHealth(bus, Queries.health(Services.deviceRegistry), queue),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { observeGauge, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DEVICE_REGISTRY_OPTIONS, type DeviceRegistryOptions } from '../device-registry.options.js';

/**
 * Feeds `models.active.count`: the distinct models some registered device reports serving (its
 * heartbeats keep `current_model_id`), read from the fleet read model at each collection.
 */
@Injectable()
export class ActiveModelsMetrics implements OnModuleInit, OnModuleDestroy {
  private stop: () => void = () => undefined;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DEVICE_REGISTRY_OPTIONS) private readonly options: DeviceRegistryOptions,
  ) {}

  onModuleInit(): void {
    this.stop = observeGauge(this.options.metrics ?? this.runtime.metrics, 'modelsActive', async () => {
      const { rows } = await this.runtime.db.query<{ n: string | number }>(
        'SELECT count(DISTINCT current_model_id) AS n FROM registry_devices WHERE current_model_id IS NOT NULL',
      );
      return Number(rows[0]?.n ?? 0);
    });
  }

  onModuleDestroy(): void {
    this.stop();
  }
}

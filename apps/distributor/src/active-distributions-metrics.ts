import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { observeGauge, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DistributionsReadModel } from './projections/distributions/distributions.read-model.js';

/** Feeds `distributions.active.count` (distributions not finished) from the read model at each collection. */
@Injectable()
export class ActiveDistributionsMetrics implements OnModuleInit, OnModuleDestroy {
  private stop: () => void = () => undefined;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly distributions: DistributionsReadModel,
  ) {}

  onModuleInit(): void {
    this.stop = observeGauge(this.runtime.metrics, 'distributionsActive', async () => (await this.distributions.unfinished()).length);
  }

  onModuleDestroy(): void {
    this.stop();
  }
}

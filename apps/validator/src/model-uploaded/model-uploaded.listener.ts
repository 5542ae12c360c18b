import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queries, queueGroup, Services, type ModelEvent } from '@hotswap/contracts';
import { SERVICE_RUNTIME, serveHealth, type BusSubscription, type ServiceRuntime, type Subscription } from '@hotswap/infrastructure';

/**
 * Listens for uploaded models. The validation pipeline (load, latency, accuracy, quality gates)
 * arrives with the registry/validation issue; today it only records that a model awaits it.
 */
@Injectable()
export class ModelUploadedListener implements OnModuleInit, OnModuleDestroy {
  private events?: Subscription;
  private health?: BusSubscription;
  readonly awaitingValidation = new Set<string>();

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async onModuleInit(): Promise<void> {
    this.events = await this.runtime.eventStore.subscribeAll({
      fromPosition: 0n,
      onCommit: async (events) => {
        for (const stored of events) {
          const event = { type: stored.type, data: stored.data } as ModelEvent;
          if (event.type === 'ModelUploaded') this.awaitingValidation.add(event.data.modelId);
        }
      },
      onError: (error) => this.runtime.logger.error('validator subscription failed', { error: String(error) }),
    });
    this.health = await serveHealth(this.runtime.bus, Queries.health(Services.validator), queueGroup(Services.validator));
  }

  async onModuleDestroy(): Promise<void> {
    await this.events?.close();
    await this.health?.close();
  }
}

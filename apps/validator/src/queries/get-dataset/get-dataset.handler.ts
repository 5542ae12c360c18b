import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queries, queueGroup, Services, type DatasetView } from '@hotswap/contracts';
import { NotFoundError } from '@hotswap/domain';
import { SERVICE_RUNTIME, validateById, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';
import { Datasets } from '../../projections/datasets/datasets.read-model.js';

/** `get-dataset`: a registered dataset without its samples; NOT_FOUND naming an unknown id. */
@Injectable()
export class GetDatasetHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime, private readonly datasets: Datasets) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Queries.getDataset, {
      queue: queueGroup(Services.validator), validate: validateById,
      handler: async ({ id }): Promise<DatasetView> => {
        const view = await this.datasets.view(id);
        if (!view) throw new NotFoundError(`dataset ${id} not found`);
        return view;
      },
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }
}

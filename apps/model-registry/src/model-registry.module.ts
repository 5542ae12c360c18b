import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { UploadModelHandler } from './commands/upload-model/upload-model.handler.js';
import { ModelsReadModel } from './projections/models/models.read-model.js';
import { ModelQueriesHandler } from './queries/model-queries.handler.js';

@Module({})
export class ModelRegistryModule {
  static register(runtime: ServiceRuntime): DynamicModule {
    return {
      module: ModelRegistryModule,
      providers: [{ provide: SERVICE_RUNTIME, useValue: runtime }, ModelsReadModel, UploadModelHandler, ModelQueriesHandler],
    };
  }
}

import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DeleteModelVersionHandler } from './commands/delete-model-version/delete-model-version.handler.js';
import { DeprecateModelVersionHandler } from './commands/deprecate-model-version/deprecate-model-version.handler.js';
import { RollbackModelVersionHandler } from './commands/rollback-model-version/rollback-model-version.handler.js';
import { UploadModelHandler } from './commands/upload-model/upload-model.handler.js';
import { ModelsReadModel } from './projections/models/models.read-model.js';
import { ModelQueriesHandler } from './queries/model-queries.handler.js';

@Module({})
export class ModelRegistryModule {
  static register(runtime: ServiceRuntime): DynamicModule {
    return {
      module: ModelRegistryModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime }, ModelsReadModel, UploadModelHandler, ModelQueriesHandler,
        DeprecateModelVersionHandler, DeleteModelVersionHandler, RollbackModelVersionHandler,
      ],
    };
  }
}

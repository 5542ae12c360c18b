import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DeleteModelVersionHandler } from './commands/delete-model-version/delete-model-version.handler.js';
import { DeprecateModelVersionHandler } from './commands/deprecate-model-version/deprecate-model-version.handler.js';
import { RollbackModelVersionHandler } from './commands/rollback-model-version/rollback-model-version.handler.js';
import { INSPECTION_LIMITS, UploadModelHandler } from './commands/upload-model/upload-model.handler.js';
import { DEFAULT_INSPECTION_LIMITS, type InspectionLimits } from './inspection/artifact-inspector.js';
import { ModelsReadModel } from './projections/models/models.read-model.js';
import { ModelQueriesHandler } from './queries/model-queries.handler.js';

export interface ModelRegistryOptions {
  /** Bounds of the ZIP structure check of uploads; each unset one keeps `DEFAULT_INSPECTION_LIMITS`. */
  readonly inspectionLimits?: Partial<InspectionLimits>;
}

@Module({})
export class ModelRegistryModule {
  static register(runtime: ServiceRuntime, options: ModelRegistryOptions = {}): DynamicModule {
    const inspectionLimits: InspectionLimits = { ...DEFAULT_INSPECTION_LIMITS, ...options.inspectionLimits };
    for (const [name, value] of Object.entries(inspectionLimits)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new RangeError(`ModelRegistryOptions.inspectionLimits.${name} must be a number > 0, got ${String(value)}`);
      }
    }
    return {
      module: ModelRegistryModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime }, { provide: INSPECTION_LIMITS, useValue: inspectionLimits }, ModelsReadModel, UploadModelHandler, ModelQueriesHandler,
        DeprecateModelVersionHandler, DeleteModelVersionHandler, RollbackModelVersionHandler,
      ],
    };
  }
}

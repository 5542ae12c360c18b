import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import {
  ARTIFACT_TRANSFER_OPTIONS, ArtifactTransferResponder, DEFAULT_ARTIFACT_TRANSFER_OPTIONS, type ArtifactTransferOptions,
} from './artifact-transfer/artifact-transfer.responder.js';
import { DeleteModelVersionHandler } from './commands/delete-model-version/delete-model-version.handler.js';
import { DeprecateModelVersionHandler } from './commands/deprecate-model-version/deprecate-model-version.handler.js';
import { RollbackModelVersionHandler } from './commands/rollback-model-version/rollback-model-version.handler.js';
import { INSPECTION_LIMITS, UploadModelHandler } from './commands/upload-model/upload-model.handler.js';
import { DEFAULT_INSPECTION_LIMITS, type InspectionLimits } from './inspection/artifact-inspector.js';
import { ModelsReadModel } from './projections/models/models.read-model.js';
import { ModelQueriesHandler } from './queries/model-queries.handler.js';
import { DEFAULT_RETENTION_OPTIONS, type RetentionOptions } from './retention/retention-config.js';
import { RETENTION_OPTIONS, RetentionHandler } from './retention/retention.handler.js';

export interface ModelRegistryOptions {
  /** Bounds of the ZIP structure check of uploads; each unset one keeps `DEFAULT_INSPECTION_LIMITS`. */
  readonly inspectionLimits?: Partial<InspectionLimits>;
  /** The retention policy of old versions; off by default. */
  readonly retention?: RetentionOptions;
  /** The NATS transport of artifacts to devices (`.artifact` chunk requests). */
  readonly artifactTransfer?: Partial<ArtifactTransferOptions>;
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
    const artifactTransfer: ArtifactTransferOptions = { ...DEFAULT_ARTIFACT_TRANSFER_OPTIONS, ...options.artifactTransfer };
    for (const name of ['maxChunkBytes', 'lookupCacheMs'] as const) {
      const value = artifactTransfer[name];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < (name === 'maxChunkBytes' ? 1 : 0)) {
        throw new RangeError(`ModelRegistryOptions.artifactTransfer.${name} must be an integer >= ${name === 'maxChunkBytes' ? 1 : 0}, got ${String(value)}`);
      }
    }
    if (typeof artifactTransfer.desiredModelOnly !== 'boolean') {
      throw new RangeError(`ModelRegistryOptions.artifactTransfer.desiredModelOnly must be true or false, got ${String(artifactTransfer.desiredModelOnly)}`);
    }
    return {
      module: ModelRegistryModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime }, { provide: INSPECTION_LIMITS, useValue: inspectionLimits }, ModelsReadModel, UploadModelHandler, ModelQueriesHandler,
        DeprecateModelVersionHandler, DeleteModelVersionHandler, RollbackModelVersionHandler,
        { provide: RETENTION_OPTIONS, useValue: options.retention ?? DEFAULT_RETENTION_OPTIONS }, RetentionHandler,
        { provide: ARTIFACT_TRANSFER_OPTIONS, useValue: artifactTransfer }, ArtifactTransferResponder,
      ],
    };
  }
}

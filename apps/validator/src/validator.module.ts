import { Module, type DynamicModule } from '@nestjs/common';
import { resolveThresholds } from '@hotswap/domain';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { RegisterDatasetHandler } from './commands/register-dataset/register-dataset.handler.js';
import { ValidateModelHandler } from './commands/validate-model/validate-model.handler.js';
import { ModelCommands } from './pipeline/model-commands.js';
import { ValidationDevices } from './pipeline/validation-devices.js';
import { ValidationPipeline } from './pipeline/validation-pipeline.js';
import { ValidationWorker } from './pipeline/validation-worker.js';
import { Datasets } from './projections/datasets/datasets.read-model.js';
import { ModelVersions } from './projections/model-versions/model-versions.read-model.js';
import { ValidationReports } from './projections/validation-reports/validation-reports.read-model.js';
import { GetDatasetHandler } from './queries/get-dataset/get-dataset.handler.js';
import { ValidationReportQueriesHandler } from './queries/get-validation-report/validation-report-queries.handler.js';
import { defaultDeviceDispatchOptions, defaultValidatorOptions, VALIDATOR_OPTIONS, type ValidatorOptions } from './validator.options.js';

/** The validator: validates every uploaded model once, re-validates on request, serves the reports, keeps the test datasets. */
@Module({})
export class ValidatorModule {
  static register(runtime: ServiceRuntime, options: ValidatorOptions = {}): DynamicModule {
    const resolved = {
      ...defaultValidatorOptions, ...options,
      ...(options.device ? { device: { ...defaultDeviceDispatchOptions, ...options.device } } : {}),
    };
    // A bad default fails at boot with the same message a bad request override gets.
    resolveThresholds('ValidatorOptions', options.thresholds);
    for (const name of ['benchmarkInferences', 'warmupInferences'] as const) {
      const value = resolved[name];
      if (!Number.isSafeInteger(value) || value < (name === 'benchmarkInferences' ? 1 : 0)) {
        throw new RangeError(`ValidatorOptions.${name} must be an integer >= ${name === 'benchmarkInferences' ? 1 : 0}, got ${value}`);
      }
    }
    if (!Number.isSafeInteger(resolved.staleRunMs) || resolved.staleRunMs < 1) {
      throw new RangeError(`ValidatorOptions.staleRunMs must be an integer >= 1 (milliseconds), got ${resolved.staleRunMs}`);
    }
    return {
      module: ValidatorModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime },
        { provide: VALIDATOR_OPTIONS, useValue: resolved },
        ModelCommands, Datasets, ModelVersions, ValidationDevices, ValidationPipeline, ValidationWorker, ValidationReports, ValidateModelHandler,
        ValidationReportQueriesHandler, RegisterDatasetHandler, GetDatasetHandler,
      ],
    };
  }
}

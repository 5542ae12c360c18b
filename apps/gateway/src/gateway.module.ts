import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ApiKeyStore } from './api-keys/api-key-store.js';
import { ManageApiKeysController } from './api-keys/manage-api-keys.controller.js';
import { DownloadArtifactController } from './artifacts/download-artifact/download-artifact.controller.js';
import { DocsController } from './docs/docs.controller.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { AuthGuard } from './auth/auth.guard.js';
import { tokenVerifierProvider } from './auth/token-verifier.provider.js';
import { GetDeviceController } from './devices/get-device/get-device.controller.js';
import { ListDevicesController } from './devices/list-devices/list-devices.controller.js';
import { GetDatasetController } from './datasets/get-dataset/get-dataset.controller.js';
import { RegisterDatasetController } from './datasets/register-dataset/register-dataset.controller.js';
import { CreateDistributionController } from './distributions/create-distribution/create-distribution.controller.js';
import { GetDistributionStatusController } from './distributions/get-distribution-status/get-distribution-status.controller.js';
import { ListDistributionsController } from './distributions/list-distributions/list-distributions.controller.js';
import { GetDistributionMetricsController } from './distributions/get-distribution-metrics/get-distribution-metrics.controller.js';
import { GetDistributionReportController } from './distributions/get-distribution-report/get-distribution-report.controller.js';
import { ControlDistributionController } from './distributions/control-distribution/control-distribution.controller.js';
import { StreamDistributionEventsController } from './distributions/stream-distribution-events/stream-distribution-events.controller.js';
import { HttpErrorFilter } from './errors/http-error.filter.js';
import { gatewayValidationPipe } from './errors/validation.js';
import { GATEWAY_DEPS, type GatewayDeps } from './gateway-deps.js';
import { RegisterDeviceController } from './devices/register-device/register-device.controller.js';
import { DeleteDeviceController } from './devices/delete-device/delete-device.controller.js';
import { GetDeviceMetricsController } from './devices/get-device-metrics/get-device-metrics.controller.js';
import { UpdateDeviceController } from './devices/update-device/update-device.controller.js';
import { HealthController } from './health/health.controller.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { GetModelController } from './models/get-model/get-model.controller.js';
import { GetValidationReportController } from './models/get-validation-report/get-validation-report.controller.js';
import { ListModelsController } from './models/list-models/list-models.controller.js';
import { DeleteModelVersionController } from './models/model-versions/delete-model-version.controller.js';
import { DeprecateModelVersionController } from './models/model-versions/deprecate-model-version.controller.js';
import { ListModelVersionsController } from './models/model-versions/list-model-versions.controller.js';
import { RollbackModelVersionController } from './models/model-versions/rollback-model-version.controller.js';
import { UploadModelController } from './models/upload-model/upload-model.controller.js';
import { ValidateModelController } from './models/validate-model/validate-model.controller.js';
import { ServiceClient } from './shared/service-client.js';
import { RATE_LIMITER, RateLimitGuard } from './rate-limits/rate-limit.guard.js';
import { assertValidRateLimits } from './rate-limits/rate-limit-rules.js';
import { RateLimiter } from './rate-limits/rate-limiter.js';
import { ListAuditEntriesController } from './audit/list-audit-entries.controller.js';
import { RunRetentionPolicyController } from './retention/run-retention-policy.controller.js';

/** Every controller the gateway serves (the RBAC matrix test checks each of their routes). */
export const useCaseControllers = [
  UploadModelController,
  GetModelController,
  ListModelsController,
  ValidateModelController, GetValidationReportController,
  ListModelVersionsController, DeprecateModelVersionController, DeleteModelVersionController, RollbackModelVersionController,
  CreateDistributionController,
  GetDistributionStatusController,
  ListDistributionsController, GetDistributionMetricsController, GetDistributionReportController,
  ControlDistributionController, StreamDistributionEventsController,
  GetDeviceController,
  RegisterDeviceController,
  ListDevicesController,
  UpdateDeviceController, DeleteDeviceController, GetDeviceMetricsController,
  DownloadArtifactController,
  HealthController,
  MetricsController,
  DocsController, DashboardController,
  RegisterDatasetController, GetDatasetController,
  ManageApiKeysController,
  ListAuditEntriesController, RunRetentionPolicyController,
];

/**
 * Cross-cutting behaviour of every route: token and role checks, then rate limits (guards run in
 * this order), DTO validation, one error format.
 */
const edgeProviders = [
  { provide: APP_GUARD, useClass: AuthGuard },
  { provide: APP_GUARD, useClass: RateLimitGuard },
  { provide: APP_PIPE, useFactory: gatewayValidationPipe },
  { provide: APP_FILTER, useClass: HttpErrorFilter },
];

/**
 * The HTTP gateway: authenticates, validates and forwards to the services over NATS. All I/O and
 * time come in through `GatewayDeps`.
 */
@Module({})
export class GatewayModule {
  static register(deps: GatewayDeps): DynamicModule {
    assertValidDeps(deps);
    return {
      module: GatewayModule,
      controllers: useCaseControllers,
      providers: [
        { provide: GATEWAY_DEPS, useValue: deps },
        ServiceClient,
        ApiKeyStore,
        tokenVerifierProvider,
        {
          provide: RATE_LIMITER,
          useFactory: async () => (deps.rateLimits === undefined ? null : RateLimiter.open(deps.bus.connection, deps.rateLimits)),
        },
        ...edgeProviders,
      ],
    };
  }
}

function assertValidDeps(deps: GatewayDeps): void {
  if (deps.jwtSecret.length === 0) throw new TypeError('GatewayDeps.jwtSecret must not be empty');
  if (deps.urlSigningSecret.length === 0) throw new TypeError('GatewayDeps.urlSigningSecret must not be empty');
  if (!Number.isSafeInteger(deps.maxUploadBytes) || deps.maxUploadBytes < 1) {
    throw new RangeError(`GatewayDeps.maxUploadBytes must be a positive integer, got ${deps.maxUploadBytes}`);
  }
  if (deps.jwks !== undefined && !URL.canParse(deps.jwks.url)) {
    throw new TypeError(`GatewayDeps.jwks.url must be an absolute URL, got ${JSON.stringify(deps.jwks.url)}`);
  }
  if (deps.rateLimits !== undefined) assertValidRateLimits(deps.rateLimits);
  for (const name of ['requestTimeoutMs', 'uploadTimeoutMs'] as const) {
    const value = deps[name];
    if (value !== undefined && !(Number.isFinite(value) && value >= 1)) {
      throw new RangeError(`GatewayDeps.${name} must be at least 1, got ${value}`);
    }
  }
}

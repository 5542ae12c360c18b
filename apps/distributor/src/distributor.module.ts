import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DeviceDrivers } from './affinity/device-drivers.js';
import { Membership } from './affinity/membership.js';
import { TargetClaims } from './claims/target-claims.js';
import { ControlDistributionHandler } from './commands/control-distribution/control-distribution.handler.js';
import { CreateDistributionHandler } from './commands/create-distribution/create-distribution.handler.js';
import { ReportDegradationHandler } from './commands/report-degradation/report-degradation.handler.js';
import { Conductor } from './conductor/conductor.js';
import { Ownership } from './conductor/ownership.js';
import { DistributorDevicePlane } from './device-plane/device-plane.handlers.js';
import { DesiredState } from './dispatch/desired-state.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { SwapCommands } from './dispatch/swap-commands.js';
import { DistributionCommands } from './distribution-commands.js';
import { DISTRIBUTOR_OPTIONS, defaultDistributorOptions, type DistributorOptions } from './distributor.options.js';
import { DynamicTargets } from './dynamic-targets/dynamic-targets.js';
import { Guardrails } from './guardrails/guardrails.js';
import { PlanRequests } from './planning/plan-requests.js';
import { DeregisteredDevicesReadModel } from './projections/deregistered-devices/deregistered-devices.read-model.js';
import { DistributionsReadModel } from './projections/distributions/distributions.read-model.js';
import { DistributionQueriesHandler } from './queries/distribution-queries.handler.js';
import { ActiveDistributionsMetrics } from './active-distributions-metrics.js';

type RequiredOptions = Pick<DistributorOptions, 'artifactBaseUrl' | 'urlSigningSecret' | 'manifestPrivateKeyPem'>;

@Module({})
export class DistributorModule {
  static register(runtime: ServiceRuntime, options: RequiredOptions & Partial<DistributorOptions>): DynamicModule {
    return {
      module: DistributorModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime },
        { provide: DISTRIBUTOR_OPTIONS, useValue: { ...defaultDistributorOptions, ...options } },
        DistributionCommands, DesiredState, SwapCommands, Dispatcher, PlanRequests, TargetClaims, Ownership, Conductor,
        CreateDistributionHandler, ControlDistributionHandler, ReportDegradationHandler, DistributorDevicePlane, DynamicTargets,
        DistributionQueriesHandler, DistributionsReadModel, DeregisteredDevicesReadModel, ActiveDistributionsMetrics, Guardrails,
        Membership, DeviceDrivers,
      ],
    };
  }
}

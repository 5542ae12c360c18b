import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DeregisterDeviceHandler } from './commands/deregister-device/deregister-device.handler.js';
import { RegisterDeviceHandler } from './commands/register-device/register-device.handler.js';
import { UpdateDeviceHandler } from './commands/update-device/update-device.handler.js';
import { DeviceCredentialsHandler } from './device-credentials/device-credentials.handler.js';
import { FleetGauges } from './fleet-gauges/fleet-gauges.js';
import { ActiveModelsMetrics } from './fleet-gauges/active-models-metrics.js';
import { DeviceCommands } from './device-commands.js';
import { DevicePlaneHandlers } from './device-plane/device-plane.handlers.js';
import { DEVICE_REGISTRY_OPTIONS, defaultDeviceRegistryOptions, type DeviceRegistryOptions } from './device-registry.options.js';
import { OfflineDetector } from './offline-detection/offline-detector.js';
import { DevicesReadModel } from './projections/devices/devices.read-model.js';
import { DeviceQueriesHandler } from './queries/device-queries.handler.js';
import { HeartbeatLimiter } from './heartbeat-limit/heartbeat-limiter.js';
import { HEARTBEAT_LIMIT_OPTIONS, resolveHeartbeatLimit } from './heartbeat-limit/heartbeat-limit.options.js';

@Module({})
export class DeviceRegistryModule {
  /** `options.metrics` makes the registry observe the fleet gauges; `natsTrust` lets it issue device credentials. */
  static register(runtime: ServiceRuntime, options: Partial<DeviceRegistryOptions> = {}): DynamicModule {
    const heartbeatLimit = resolveHeartbeatLimit(options.heartbeatLimit, options.offlineAfterMs ?? defaultDeviceRegistryOptions.offlineAfterMs);
    return {
      module: DeviceRegistryModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime },
        { provide: DEVICE_REGISTRY_OPTIONS, useValue: { ...defaultDeviceRegistryOptions, ...options } },
        DevicesReadModel, DeviceCommands, DevicePlaneHandlers, DeviceQueriesHandler, OfflineDetector, RegisterDeviceHandler,
        UpdateDeviceHandler, DeregisterDeviceHandler, DeviceCredentialsHandler, FleetGauges, ActiveModelsMetrics,
        { provide: HEARTBEAT_LIMIT_OPTIONS, useValue: heartbeatLimit }, HeartbeatLimiter,
      ],
      exports: [OfflineDetector],
    };
  }
}

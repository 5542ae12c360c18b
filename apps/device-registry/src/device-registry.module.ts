import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DeregisterDeviceHandler } from './commands/deregister-device/deregister-device.handler.js';
import { RegisterDeviceHandler } from './commands/register-device/register-device.handler.js';
import { UpdateDeviceHandler } from './commands/update-device/update-device.handler.js';
import { DeviceCredentialsHandler } from './device-credentials/device-credentials.handler.js';
import { FleetGauges } from './fleet-gauges/fleet-gauges.js';
import { DeviceCommands } from './device-commands.js';
import { DevicePlaneHandlers } from './device-plane/device-plane.handlers.js';
import { DEVICE_REGISTRY_OPTIONS, defaultDeviceRegistryOptions, type DeviceRegistryOptions } from './device-registry.options.js';
import { OfflineDetector } from './offline-detection/offline-detector.js';
import { DevicesReadModel } from './projections/devices/devices.read-model.js';
import { DeviceQueriesHandler } from './queries/device-queries.handler.js';

@Module({})
export class DeviceRegistryModule {
  /** `options.metrics` makes the registry observe the fleet gauges; `natsTrust` lets it issue device credentials. */
  static register(runtime: ServiceRuntime, options: Partial<DeviceRegistryOptions> = {}): DynamicModule {
    return {
      module: DeviceRegistryModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime },
        { provide: DEVICE_REGISTRY_OPTIONS, useValue: { ...defaultDeviceRegistryOptions, ...options } },
        DevicesReadModel, DeviceCommands, DevicePlaneHandlers, DeviceQueriesHandler, OfflineDetector, RegisterDeviceHandler,
        UpdateDeviceHandler, DeregisterDeviceHandler, DeviceCredentialsHandler, FleetGauges,
      ],
      exports: [OfflineDetector],
    };
  }
}

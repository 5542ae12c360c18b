import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { RegisterDeviceHandler } from './commands/register-device/register-device.handler.js';
import { DeviceCommands } from './device-commands.js';
import { DevicePlaneHandlers } from './device-plane/device-plane.handlers.js';
import { DEVICE_REGISTRY_OPTIONS, defaultDeviceRegistryOptions, type DeviceRegistryOptions } from './device-registry.options.js';
import { OfflineDetector } from './offline-detection/offline-detector.js';
import { DevicesReadModel } from './projections/devices/devices.read-model.js';
import { DeviceQueriesHandler } from './queries/device-queries.handler.js';

@Module({})
export class DeviceRegistryModule {
  static register(runtime: ServiceRuntime, options: Partial<DeviceRegistryOptions> = {}): DynamicModule {
    return {
      module: DeviceRegistryModule,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime },
        { provide: DEVICE_REGISTRY_OPTIONS, useValue: { ...defaultDeviceRegistryOptions, ...options } },
        DevicesReadModel, DeviceCommands, DevicePlaneHandlers, DeviceQueriesHandler, OfflineDetector, RegisterDeviceHandler,
      ],
      exports: [OfflineDetector],
    };
  }
}

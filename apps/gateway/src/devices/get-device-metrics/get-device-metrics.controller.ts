import { Controller, Get, Param } from '@nestjs/common';
import { Queries, type ByIdQuery, type DeviceMetricsView, type DeviceView } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/devices')
export class GetDeviceMetricsController {
  constructor(private readonly services: ServiceClient) {}

  /** The latest telemetry windows per model version; 404 for a device not in the fleet. */
  @Get(':id/metrics')
  @Roles(ANY_ROLE)
  async getDeviceMetrics(@Param('id', new IdParamPipe('device id')) id: string): Promise<DeviceMetricsView> {
    // The monitor keeps whatever telemetry arrived; the registry says whether the device is in the fleet.
    await this.services.request<ByIdQuery, DeviceView>(Queries.getDevice, { id });
    return this.services.request<ByIdQuery, DeviceMetricsView>(Queries.getDeviceMetrics, { id });
  }
}

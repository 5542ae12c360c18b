import { Controller, Get, Param } from '@nestjs/common';
import { Queries, type ByIdQuery, type DeviceView } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/devices')
export class GetDeviceController {
  constructor(private readonly services: ServiceClient) {}

  @Get(':id')
  @Roles(ANY_ROLE)
  getDevice(@Param('id', new IdParamPipe('device id')) id: string): Promise<DeviceView> {
    return this.services.request<ByIdQuery, DeviceView>(Queries.getDevice, { id });
  }
}

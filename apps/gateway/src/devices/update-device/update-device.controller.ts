import { Body, Controller, Param, Put } from '@nestjs/common';
import { Commands, UpdateDeviceDto, type DeviceView, type UpdateDeviceCommand } from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/devices')
export class UpdateDeviceController {
  constructor(private readonly services: ServiceClient) {}

  /** Replaces the attributes given (deviceType, region, capabilities, tags); answers the device as it now is. */
  @Put(':id')
  @Roles(['Admin', 'Operator'])
  updateDevice(
    @Param('id', new IdParamPipe('device id')) id: string,
    @Body() body: UpdateDeviceDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DeviceView> {
    return this.services.request<UpdateDeviceCommand, DeviceView>(Commands.updateDevice, { ...body, id, actor: principal.subject });
  }
}

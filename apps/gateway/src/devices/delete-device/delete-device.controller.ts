import { Controller, Delete, HttpCode, HttpStatus, Param } from '@nestjs/common';
import { Commands, type CreatedReply, type DeregisterDeviceCommand } from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/devices')
export class DeleteDeviceController {
  constructor(private readonly services: ServiceClient) {}

  /** Deregisters the device: out of the fleet, its messages refused, its credentials no longer renewed. */
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Roles(['Admin'])
  async deleteDevice(
    @Param('id', new IdParamPipe('device id')) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.services.request<DeregisterDeviceCommand, CreatedReply>(Commands.deregisterDevice, { id, actor: principal.subject });
  }
}

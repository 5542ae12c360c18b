import { Controller, Get, Query } from '@nestjs/common';
import { ListDevicesQueryDto, Queries, type DeviceView, type ListDevicesQuery, type Page } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/devices')
export class ListDevicesController {
  constructor(private readonly services: ServiceClient) {}

  @Get()
  @Roles(ANY_ROLE)
  listDevices(@Query() query: ListDevicesQueryDto): Promise<Page<DeviceView>> {
    return this.services.request<ListDevicesQuery, Page<DeviceView>>(Queries.listDevices, { ...query });
  }
}

import { describe, expect, it } from '@jest/globals';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ListModelsQueryDto, UpdateDeviceDto } from '@hotswap/contracts';
import { Public, Roles } from '../auth/roles.js';
import { RegistrationCredentialsGuard } from '../devices/register-device/register-device.controller.js';
import { RateLimited } from '../rate-limits/rate-limit-rules.js';
import { IdParamPipe } from '../shared/id-param.pipe.js';
import { apiRoutes } from './api-routes.js';

@Controller('api/v1/things')
@Roles(['Admin'])
class ThingsController {
  @Get()
  list(@Query() _query: ListModelsQueryDto, @Headers('range') _range: string): string[] {
    return [];
  }

  @Post(':id')
  @HttpCode(202)
  @RateLimited('upload')
  change(@Param('id', new IdParamPipe('device id')) _id: string, @Body() _body: UpdateDeviceDto): void {}
}

@Controller('other')
class OtherController {
  @Get(['one', 'two'])
  @Public()
  list(@Query('since') _since: string): string[] {
    return [];
  }

  @Delete('x')
  @Public()
  @UseGuards(RegistrationCredentialsGuard)
  remove(): void {}
}

describe('the route list read from Nest metadata', () => {
  const routes = apiRoutes([ThingsController, OtherController]);
  const byPath = (method: string, path: string) => routes.find((r) => r.method === method && r.path === path);

  it('has each method and path, with names unique across controllers', () => {
    expect(routes.map((r) => `${r.method} ${r.path} ${r.operationId}`).sort()).toEqual([
      'DELETE /other/x remove',
      'GET /api/v1/things thingsList',
      'GET /other/one otherList',
      'GET /other/two otherList',
      'POST /api/v1/things/{id} change',
    ]);
  });

  it('reads parameters, bodies, roles, rate limits and status codes', () => {
    expect(byPath('GET', '/api/v1/things')).toMatchObject({
      query: ListModelsQueryDto, headers: ['range'], auth: { kind: 'bearer', roles: ['Admin'] }, successStatus: 200, tag: 'things',
    });
    expect(byPath('POST', '/api/v1/things/{id}')).toMatchObject({
      pathParams: [{ name: 'id', description: 'a device id' }], body: { json: UpdateDeviceDto }, successStatus: 202, rateLimit: 'upload',
      summary: 'Change',
    });
    expect(byPath('GET', '/other/one')).toMatchObject({ auth: { kind: 'public' }, queryParams: ['since'], tag: 'operations' });
    expect(byPath('DELETE', '/other/x')).toMatchObject({ auth: { kind: 'bearer', roles: ['Admin'], apiKey: true } });
  });
});

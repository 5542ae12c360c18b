import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { CreateApiKeyDto, type ApiKeyView, type IssuedApiKey } from '@hotswap/contracts';
import { CurrentPrincipal } from '../auth/auth.guard.js';
import { Roles } from '../auth/roles.js';
import type { Principal } from '../auth/tokens.js';
import { ApiKeyStore } from './api-key-store.js';

/**
 * `/api/v1/api-keys` (Admin): the device registration API keys. The key itself is shown only in
 * the reply of create and rotate; the store keeps its SHA-256.
 */
@Controller('api/v1/api-keys')
@Roles(['Admin'])
export class ManageApiKeysController {
  constructor(private readonly keys: ApiKeyStore) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  create(@Body() body: CreateApiKeyDto, @CurrentPrincipal() principal: Principal): Promise<IssuedApiKey> {
    return this.keys.create(body.name, principal.subject);
  }

  @Get()
  async list(): Promise<{ items: ApiKeyView[] }> {
    return { items: await this.keys.list() };
  }

  @Post(':id/rotate')
  @HttpCode(HttpStatus.OK)
  rotate(@Param('id') id: string): Promise<IssuedApiKey> {
    return this.keys.rotate(id);
  }

  /** Revokes the key at once; it stays listed as `revoked`. */
  @Delete(':id')
  revoke(@Param('id') id: string): Promise<ApiKeyView> {
    return this.keys.revoke(id);
  }
}

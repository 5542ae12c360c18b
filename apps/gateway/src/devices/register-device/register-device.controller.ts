import { createHash, timingSafeEqual } from 'node:crypto';
import { Body, Controller, ForbiddenException, Headers, HttpCode, HttpStatus, Inject, Post, UnauthorizedException } from '@nestjs/common';
import { Commands, RegisterDeviceDto, type DeviceRegistration, type RegisterDeviceCommand } from '@hotswap/contracts';
import { Public } from '../../auth/roles.js';
import { authenticate, InvalidTokenError } from '../../auth/tokens.js';
import { GATEWAY_DEPS, type GatewayDeps } from '../../gateway-deps.js';
import { ServiceClient } from '../../shared/service-client.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * `POST /api/v1/devices`: provisioning registers a device with the registration API key
 * (`X-Api-Key`), or an Admin with a bearer token. The reply holds the device's NATS credentials.
 */
@Controller('api/v1/devices')
export class RegisterDeviceController {
  private readonly keyHashes: Buffer[];

  constructor(
    private readonly services: ServiceClient,
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
  ) {
    this.keyHashes = (deps.registrationApiKeySha256 ?? []).map((hex) => Buffer.from(hex, 'hex'));
  }

  @Post()
  @Public()
  @HttpCode(HttpStatus.CREATED)
  async registerDevice(
    @Body() body: RegisterDeviceDto,
    @Headers('x-api-key') apiKey: string | undefined,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<DeviceRegistration> {
    const actor = apiKey !== undefined ? this.byApiKey(apiKey) : await this.byAdminToken(authorization);
    return this.services.request<RegisterDeviceCommand, DeviceRegistration>(Commands.registerDevice, { ...body, actor });
  }

  private byApiKey(apiKey: string): string {
    // Keys are kept as SHA-256 digests and compared in constant time.
    const digest = sha256(apiKey);
    if (!this.keyHashes.some((known) => known.length === digest.length && timingSafeEqual(known, digest))) {
      throw new UnauthorizedException('X-Api-Key is not a valid device registration key');
    }
    return `api-key:${digest.toString('hex').slice(0, 12)}`;
  }

  private async byAdminToken(authorization: string | undefined): Promise<string> {
    if (authorization === undefined) throw new UnauthorizedException('registering a device needs X-Api-Key or an Admin bearer token');
    try {
      const principal = await authenticate(authorization, this.deps.jwtSecret, this.deps.clock());
      if (!principal.roles.includes('Admin')) {
        throw new ForbiddenException(`registering a device needs the Admin role; the token has ${principal.roles.join(', ') || 'no role'}`);
      }
      return principal.subject;
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new UnauthorizedException(error.message, { cause: error });
      throw error;
    }
  }
}

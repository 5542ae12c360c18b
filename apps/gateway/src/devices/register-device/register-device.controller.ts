import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  Body, Controller, createParamDecorator, ForbiddenException, HttpCode, HttpStatus, Inject, Injectable, Post,
  UnauthorizedException, UseGuards, type CanActivate, type ExecutionContext,
} from '@nestjs/common';
import { Commands, RegisterDeviceDto, type DeviceRegistration, type RegisterDeviceCommand } from '@hotswap/contracts';
import { ApiKeyStore } from '../../api-keys/api-key-store.js';
import { verifyOrThrowHttp } from '../../auth/auth.guard.js';
import { Public } from '../../auth/roles.js';
import { TOKEN_VERIFIER } from '../../auth/token-verifier.provider.js';
import type { TokenVerifier } from '../../auth/tokens.js';
import { GATEWAY_DEPS, type GatewayDeps } from '../../gateway-deps.js';
import { ServiceClient } from '../../shared/service-client.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

type RegistrationRequest = IncomingMessage & { registrationActor?: string };

/**
 * Who may register a device: the holder of a registration API key (`X-Api-Key`) or an Admin with a
 * bearer token. A guard, so that credentials are checked before the body is (401/403 before 400).
 */
@Injectable()
export class RegistrationCredentialsGuard implements CanActivate {
  private readonly keyHashes: Buffer[];

  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(TOKEN_VERIFIER) private readonly verify: TokenVerifier,
    private readonly managedKeys: ApiKeyStore,
  ) {
    this.keyHashes = (deps.registrationApiKeySha256 ?? []).map((hex) => Buffer.from(hex, 'hex'));
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RegistrationRequest>();
    const apiKey = request.headers['x-api-key'];
    request.registrationActor = typeof apiKey === 'string' ? await this.byApiKey(apiKey) : await this.byAdminToken(request.headers.authorization);
    return true;
  }

  /** A bootstrap key (`registrationApiKeySha256`) or an active key managed through `/api/v1/api-keys`. */
  private async byApiKey(apiKey: string): Promise<string> {
    // Keys are kept as SHA-256 digests and compared in constant time.
    const digest = sha256(apiKey);
    if (this.keyHashes.some((known) => known.length === digest.length && timingSafeEqual(known, digest))) {
      return `api-key:${digest.toString('hex').slice(0, 12)}`;
    }
    const managedId = await this.managedKeys.verify(apiKey);
    if (managedId === undefined) throw new UnauthorizedException('X-Api-Key is not a valid device registration key');
    return `api-key:${managedId}`;
  }

  private async byAdminToken(authorization: string | undefined): Promise<string> {
    if (authorization === undefined) throw new UnauthorizedException('registering a device needs X-Api-Key or an Admin bearer token');
    const principal = await verifyOrThrowHttp(this.verify, authorization, this.deps.clock());
    if (!principal.roles.includes('Admin')) {
      throw new ForbiddenException(`registering a device needs the Admin role; the token has ${principal.roles.join(', ') || 'no role'}`);
    }
    return principal.subject;
  }
}

const RegistrationActor = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const actor = context.switchToHttp().getRequest<RegistrationRequest>().registrationActor;
  if (actor === undefined) throw new Error('RegistrationActor used without RegistrationCredentialsGuard');
  return actor;
});

/**
 * `POST /api/v1/devices`: provisioning registers a device with the registration API key
 * (`X-Api-Key`), or an Admin with a bearer token. The reply holds the device's NATS credentials.
 */
@Controller('api/v1/devices')
export class RegisterDeviceController {
  constructor(private readonly services: ServiceClient) {}

  @Post()
  @Public()
  @UseGuards(RegistrationCredentialsGuard)
  @HttpCode(HttpStatus.CREATED)
  async registerDevice(@Body() body: RegisterDeviceDto, @RegistrationActor() actor: string): Promise<DeviceRegistration> {
    return this.services.request<RegisterDeviceCommand, DeviceRegistration>(Commands.registerDevice, { ...body, actor });
  }
}

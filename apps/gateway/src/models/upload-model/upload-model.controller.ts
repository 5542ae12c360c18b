import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BadRequestException, Controller, HttpCode, HttpStatus, Inject, Logger, Post, Req } from '@nestjs/common';
import { Commands, type ModelView, type UploadModelCommand } from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { DEFAULT_UPLOAD_TIMEOUT_MS, GATEWAY_DEPS, type GatewayDeps } from '../../gateway-deps.js';
import { ServiceClient } from '../../shared/service-client.js';
import { ARTIFACT_PART, checksumMismatch, receiveUpload } from './receive-upload.js';
import { checkUploadFields } from './upload-fields.js';
import { RateLimited } from '../../rate-limits/rate-limit-rules.js';

export type UploadModelResponse = Pick<ModelView, 'id' | 'name' | 'version' | 'framework' | 'status' | 'checksum' | 'sizeBytes'>;

@Controller('api/v1/models')
export class UploadModelController {
  private readonly logger = new Logger('UploadModel');

  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    private readonly services: ServiceClient,
  ) {}

  /**
   * Streams the `artifact` part to `staging/<uuid>` and asks the model registry to take it. Any
   * failure removes the staged file; once the registry has accepted it, staging is its business.
   */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @RateLimited('upload')
  @Roles(['Admin', 'ModelDeveloper'])
  async uploadModel(@Req() request: IncomingMessage, @CurrentPrincipal() principal: Principal): Promise<UploadModelResponse> {
    const stagingKey = `staging/${randomUUID()}`;
    try {
      const { fields, artifact } = await receiveUpload(request, {
        artifacts: this.deps.artifacts,
        stagingKey,
        maxSizeBytes: this.deps.maxUploadBytes,
        checkFieldsBeforeFile: (early) => {
          const checked = checkUploadFields(early, { partial: true });
          return checked instanceof BadRequestException ? checked : undefined;
        },
        expectedSha256: (early) => (/^[0-9a-fA-F]{64}$/.test(early['checksum'] ?? '') ? early['checksum'] : undefined),
      });
      const checked = checkUploadFields(fields, { partial: false });
      if (checked instanceof BadRequestException) throw checked;
      if (artifact === undefined) {
        throw new BadRequestException({
          message: `the model file is missing: send it as the file part "${ARTIFACT_PART}"`,
          details: { properties: [ARTIFACT_PART] },
        });
      }
      if (artifact.sizeBytes === 0) {
        throw new BadRequestException({
          message: `the model file "${ARTIFACT_PART}" is empty (0 bytes)`,
          details: { properties: [ARTIFACT_PART] },
        });
      }
      const { dto, metadata } = checked;
      // The checksum field may have come after the file, too late to check while streaming.
      if (dto.checksum !== undefined && dto.checksum.toLowerCase() !== artifact.sha256) {
        throw checksumMismatch(dto.checksum.toLowerCase(), artifact.sha256);
      }
      const model = await this.services.request<UploadModelCommand, ModelView>(Commands.uploadModel, {
        actor: principal.subject,
        name: dto.name,
        version: dto.version,
        framework: dto.framework,
        stagingKey,
        sha256: artifact.sha256,
        sizeBytes: artifact.sizeBytes,
        metadata,
      }, this.deps.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS);
      const { id, name, version, framework, status, checksum, sizeBytes } = model;
      return { id, name, version, framework, status, checksum, sizeBytes };
    } catch (error) {
      await this.deleteStaging(stagingKey);
      throw error;
    }
  }

  private async deleteStaging(stagingKey: string): Promise<void> {
    try {
      await this.deps.artifacts.delete(stagingKey);
    } catch (error) {
      // The upload already failed; a leftover staging file must not hide why.
      this.logger.warn(`could not delete ${stagingKey}: ${(error as Error).message}`);
    }
  }
}

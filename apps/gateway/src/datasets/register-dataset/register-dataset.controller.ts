import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { BadRequestException, Controller, HttpCode, HttpStatus, Inject, Post, Req, UnsupportedMediaTypeException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import {
  Commands, DatasetFieldsDto, RegisterDatasetDto,
  type DatasetView, type RegisterDatasetCommand, type StagedDataset,
} from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { validationFailed } from '../../errors/validation.js';
import { DEFAULT_UPLOAD_TIMEOUT_MS, GATEWAY_DEPS, type GatewayDeps } from '../../gateway-deps.js';
import { ServiceClient } from '../../shared/service-client.js';
import { INPUT_PART_PREFIX, LABELS_PART, receiveDatasetForm } from './receive-dataset-form.js';

/**
 * `POST /api/v1/datasets`: a labelled test dataset for the validator's accuracy step, as JSON
 * (`RegisterDatasetDto`) or as a multipart form with one NPY file per input (`inputs.<name>`) and
 * one for the labels (`labels`). The body is staged in the artifact store; the validator checks,
 * stores and records it, and removes what was staged.
 */
@Controller('api/v1/datasets')
export class RegisterDatasetController {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps, private readonly services: ServiceClient) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @Roles(['Admin', 'ModelDeveloper'])
  async registerDataset(@Req() request: IncomingMessage & { body?: unknown }, @CurrentPrincipal() principal: Principal): Promise<DatasetView> {
    const contentType = request.headers['content-type'] ?? '';
    const stagingKey = `staging/${randomUUID()}`;
    let fields: DatasetFieldsDto;
    let staged: StagedDataset;
    let stagedKeys: readonly string[];
    if (/^application\/json\b/i.test(contentType)) {
      const dto = await checked(RegisterDatasetDto, request.body);
      const { inputs, labels, ...rest } = dto;
      fields = rest;
      await this.deps.artifacts.put(stagingKey, Readable.from([Buffer.from(JSON.stringify({ inputs, labels }))]));
      staged = { format: 'json', key: stagingKey };
      stagedKeys = [stagingKey];
    } else if (/^multipart\/form-data\s*;/i.test(contentType)) {
      const form = await receiveDatasetForm(request, { artifacts: this.deps.artifacts, stagingPrefix: stagingKey, maxFileBytes: this.deps.maxUploadBytes });
      stagedKeys = form.staged;
      try {
        const { tolerance, ...text } = form.fields;
        // Form fields are text; a tolerance that is not a number stays text so the DTO names it.
        const numeric = tolerance !== undefined && tolerance.trim() !== '' && Number.isFinite(Number(tolerance)) ? Number(tolerance) : tolerance;
        fields = await checked(DatasetFieldsDto, { ...text, ...(tolerance !== undefined ? { tolerance: numeric } : {}) });
        if (Object.keys(form.inputs).length === 0 || form.labels === undefined) {
          throw new BadRequestException({
            message: `an NPY dataset needs one file part "${INPUT_PART_PREFIX}<inputName>" per model input and one "${LABELS_PART}" part`,
            details: { properties: [Object.keys(form.inputs).length === 0 ? 'inputs' : LABELS_PART] },
          });
        }
      } catch (error) {
        await this.unstage(stagedKeys);
        throw error;
      }
      staged = { format: 'npy', inputs: form.inputs, labels: form.labels };
    } else {
      throw new UnsupportedMediaTypeException(
        `a dataset is application/json or multipart/form-data with NPY files, got ${contentType === '' ? 'no Content-Type' : contentType}`,
      );
    }
    const command: RegisterDatasetCommand = {
      actor: principal.subject, name: fields.name, staged,
      ...(fields.task !== undefined ? { task: fields.task } : {}),
      ...(fields.tolerance !== undefined ? { tolerance: fields.tolerance } : {}),
      ...(fields.output !== undefined ? { output: fields.output } : {}),
    };
    try {
      return await this.services.request<RegisterDatasetCommand, DatasetView>(
        Commands.registerDataset, command, this.deps.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS,
      );
    } catch (error) {
      // The validator removes the staged files itself; this covers a request it never received.
      await this.unstage(stagedKeys);
      throw error;
    }
  }

  private async unstage(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.deps.artifacts.delete(key).catch(() => undefined)));
  }
}

async function checked<T extends object>(dto: new () => T, body: unknown): Promise<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException('the dataset body must be a JSON object { name, inputs, labels, task?, tolerance?, output? }');
  }
  const instance = plainToInstance(dto, body);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw validationFailed(errors);
  return instance;
}

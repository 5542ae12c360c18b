import { BadRequestException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { UploadModelFieldsDto, type ModelMetadata } from '@hotswap/contracts';
import { formatValidationErrors } from '@hotswap/infrastructure';
import { failingProperties } from '../../errors/validation.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../../errors/json-depth.js';

export interface UploadFields {
  readonly dto: UploadModelFieldsDto;
  readonly metadata: ModelMetadata;
}

/**
 * Checks the text fields of a model upload. `partial` checks only the fields present (those sent
 * before the file), so a bad field is refused before the artifact is stored.
 * @returns the validated fields, or the 400 that names every bad field
 */
export function checkUploadFields(
  fields: Readonly<Record<string, string>>,
  { partial }: { readonly partial: boolean },
): UploadFields | BadRequestException {
  const dto = plainToInstance(UploadModelFieldsDto, { ...fields });
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, skipMissingProperties: partial });
  const messages = errors.length === 0 ? [] : [formatValidationErrors(errors)];
  const properties = failingProperties(errors);
  let metadata: ModelMetadata = {};
  if (dto.metadata !== undefined && !properties.includes('metadata')) {
    const parsed = parseMetadata(dto.metadata);
    if (typeof parsed === 'string') {
      messages.push(`metadata: ${parsed}`);
      properties.push('metadata');
    } else {
      metadata = parsed;
    }
  }
  if (messages.length > 0) {
    return new BadRequestException({ message: `invalid upload fields: ${messages.join('; ')}`, details: { properties } });
  }
  return { dto, metadata };
}

/** The metadata field as an object, or why it is not one. */
function parseMetadata(text: string): ModelMetadata | string {
  if (jsonDepth(Buffer.from(text)) > MAX_JSON_DEPTH) return `metadata is nested more than ${MAX_JSON_DEPTH} levels deep`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `metadata is not valid JSON (${(error as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'metadata must be a JSON object';
  return value as ModelMetadata;
}

import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import type { ValidationResult, Validator } from './types.js';

/**
 * Turns a class-validator DTO class into a message `Validator`, with the same rules as the REST
 * API's ValidationPipe: unknown properties are refused (`whitelist` + `forbidNonWhitelisted`).
 * The reason names each failing property path and constraint.
 */
export function validateWith<T extends object>(dto: ClassConstructor<T>): Validator<T> {
  return async (payload: unknown): Promise<ValidationResult<T>> => {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return { ok: false, reason: `payload must be a JSON object, got ${describe(payload)}` };
    }
    const instance = plainToInstance(dto, payload);
    const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) return { ok: false, reason: formatValidationErrors(errors) };
    return { ok: true, value: instance };
  };
}

/** `name: name must be a string [isString]; size.bytes: ... [min]`, nested properties as paths. */
export function formatValidationErrors(errors: readonly ValidationError[], parentPath = ''): string {
  const parts: string[] = [];
  for (const error of errors) {
    const path = parentPath === '' ? error.property : `${parentPath}.${error.property}`;
    for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
      parts.push(`${path}: ${message} [${constraint}]`);
    }
    if (error.children !== undefined && error.children.length > 0) {
      parts.push(formatValidationErrors(error.children, path));
    }
  }
  return parts.join('; ');
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

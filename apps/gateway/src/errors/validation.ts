import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';
import { formatValidationErrors } from '@hotswap/infrastructure';

/** Property paths that failed, nested ones as `a.b`. */
export function failingProperties(errors: readonly ValidationError[], parentPath = ''): string[] {
  return errors.flatMap((error) => {
    const path = parentPath === '' ? error.property : `${parentPath}.${error.property}`;
    const own = Object.keys(error.constraints ?? {}).length > 0 ? [path] : [];
    return [...own, ...failingProperties(error.children ?? [], path)];
  });
}

/** A 400 whose message lists each failing property and constraint, and whose details name the properties. */
export function validationFailed(errors: readonly ValidationError[]): BadRequestException {
  return new BadRequestException({
    message: `invalid request: ${formatValidationErrors(errors)}`,
    details: { properties: failingProperties(errors) },
  });
}

/** The API's validation rules: unknown properties are refused, query strings become numbers where declared. */
export function gatewayValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => validationFailed(errors),
  });
}

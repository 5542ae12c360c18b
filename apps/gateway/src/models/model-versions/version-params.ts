import { BadRequestException, type PipeTransform } from '@nestjs/common';
import { invalidIdReason, SEMVER_PATTERN } from '@hotswap/contracts';

/** Validates the `:name` path parameter of the version routes (a model name, not an id). */
export class ModelNameParamPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const reason = invalidIdReason('model name', value);
    if (reason !== undefined) throw new BadRequestException({ message: reason, details: { properties: ['name'] } });
    return value;
  }
}

/** Validates the `:version` path parameter: a semantic version. */
export class VersionParamPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (value.length > 256 || !SEMVER_PATTERN.test(value)) {
      throw new BadRequestException({
        message: `version ${JSON.stringify(value)} must be a semantic version MAJOR.MINOR.PATCH[-prerelease][+build]`,
        details: { properties: ['version'] },
      });
    }
    return value;
  }
}

/**
 * Delete and rollback ask the device registry and the distributor before answering, so they get
 * longer than a plain query.
 */
export const VERSION_COMMAND_TIMEOUT_MS = 20_000;

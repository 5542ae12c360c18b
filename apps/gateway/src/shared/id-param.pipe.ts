import { BadRequestException, type PipeTransform } from '@nestjs/common';
import { invalidIdReason } from '@hotswap/contracts';

export type IdKind = 'model id' | 'device id' | 'distribution id' | 'dataset id';

/** Model ids are `<name>-<version>` (dots, `+build`); distribution ids are service-made tokens. */
const TOKEN_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/;

/** Why `id` cannot be a `kind`, or undefined. Ids become NATS subject tokens, so wildcards are refused. */
export function invalidPathIdReason(kind: IdKind, id: string): string | undefined {
  if (kind === 'device id') return invalidIdReason('device id', id);
  if (/[*>\s]/.test(id)) return `${kind} "${id}" must not contain "*", ">" or whitespace`;
  if (!TOKEN_ID.test(id)) return `${kind} "${id}" must match ${TOKEN_ID.source}`;
  return undefined;
}

/** Validates an `:id` path parameter: `@Param('id', new IdParamPipe('device id'))`. */
export class IdParamPipe implements PipeTransform<string, string> {
  constructor(private readonly kind: IdKind) {}

  transform(value: string): string {
    const reason = invalidPathIdReason(this.kind, value);
    if (reason !== undefined) throw new BadRequestException({ message: reason, details: { properties: ['id'] } });
    return value;
  }
}

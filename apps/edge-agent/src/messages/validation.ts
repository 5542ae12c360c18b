/**
 * Every device-plane message is validated on arrival (class-validator, unknown fields refused), and
 * a message that fails is answered or logged with a reason that names each problem.
 */
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validate } from 'class-validator';
import { SwapCommand } from '@hotswap/contracts';
import { formatValidationErrors } from '@hotswap/infrastructure';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Model ids become directory names on the device, so they are held to a path-safe alphabet. */
const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/;

export function parseJson(data: Uint8Array | string): Parsed<unknown> {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
  }
}

/** Validates a plain object against a contract class; on success returns the class instance. */
export async function validateAs<T extends object>(cls: ClassConstructor<T>, plain: unknown, what: string): Promise<Parsed<T>> {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    return { ok: false, reason: `${what} must be a JSON object` };
  }
  const instance = plainToInstance(cls, plain);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) return { ok: false, reason: `invalid ${what}: ${formatValidationErrors(errors)}` };
  return { ok: true, value: instance };
}

export interface ParsedCommand {
  /** The command id as far as it could be read, so a rejection can still be correlated. */
  readonly commandId: string;
  readonly result: Parsed<SwapCommand>;
}

/** Parses a `.cmd` payload: JSON, a known `type`, the SwapCommand contract, a path-safe model id. */
export async function parseCommand(data: Uint8Array | string): Promise<ParsedCommand> {
  const json = parseJson(data);
  if (!json.ok) return { commandId: '', result: json };
  const plain = json.value as Record<string, unknown> | null;
  const commandId = typeof plain === 'object' && plain !== null && typeof plain.commandId === 'string' ? plain.commandId.slice(0, 100) : '';
  return { commandId, result: await validateSwapCommand(plain, 'command') };
}

/** Validates a swap command from `.cmd` or from a `.sync` reply. */
export async function validateSwapCommand(plain: unknown, what: string): Promise<Parsed<SwapCommand>> {
  if (typeof plain === 'object' && plain !== null && !Array.isArray(plain)) {
    const type = (plain as { type?: unknown }).type;
    if (type === undefined) return { ok: false, reason: `${what} type is missing; expected "swap"` };
    if (type !== 'swap') return { ok: false, reason: `unknown ${what} type ${JSON.stringify(type)}; expected "swap"` };
  }
  const validated = await validateAs(SwapCommand, plain, what);
  if (!validated.ok) return validated;
  if (!MODEL_ID_PATTERN.test(validated.value.modelId)) {
    return { ok: false, reason: `invalid ${what}: modelId ${JSON.stringify(validated.value.modelId)} must match ${MODEL_ID_PATTERN.source}` };
  }
  return validated;
}

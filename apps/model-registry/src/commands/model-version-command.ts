import { invalidIdReason, modelId, Streams, type ModelVersionCommand } from '@hotswap/contracts';
import { isValidSemver, modelDecider, type ModelCommand, type ModelState } from '@hotswap/domain';
import { handleCommand, loadState, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';

/** How long the registry waits for another service (device registry, distributor) to answer. */
export const PEER_TIMEOUT_MS = 5_000;

/** `{ actor, name, version }` payloads of the version commands; `extra` checks further fields. */
export function validateVersionCommand<T extends ModelVersionCommand>(
  extra: (p: Record<string, unknown>) => string[] = () => [],
): (payload: unknown) => ValidationResult<T> {
  return (payload) => {
    if (!payload || typeof payload !== 'object') return { ok: false, reason: 'payload must be an object' };
    const p = payload as Record<string, unknown>;
    const problems: string[] = [];
    const nameProblem = invalidIdReason('model name', p['name']);
    if (nameProblem) problems.push(nameProblem);
    if (!isValidSemver(p['version'])) problems.push(`version must be a semantic version, got ${JSON.stringify(p['version'])}`);
    if (typeof p['actor'] !== 'string' || p['actor'] === '') problems.push('actor is required');
    problems.push(...extra(p));
    return problems.length ? { ok: false, reason: problems.join('; ') } : { ok: true, value: p as unknown as T };
  };
}

export const idOf = (command: ModelVersionCommand) => modelId(command.name, command.version);

export async function modelState(runtime: ServiceRuntime, id: string): Promise<ModelState> {
  return (await loadState(runtime.eventStore, Streams.model(id), modelDecider)).state;
}

/** Runs a model command with the caller as the actor of its events. */
export function runModelCommand(
  runtime: ServiceRuntime, id: string, command: Omit<ModelCommand, 'metadata'>, actor: string, traceparent?: string,
) {
  const now = runtime.clock().toISOString();
  return handleCommand(runtime.eventStore, Streams.model(id), modelDecider, { ...command, metadata: { now } } as ModelCommand, {
    actor, now, ...(traceparent ? { traceparent } : {}),
  });
}

import { Inject, Injectable } from '@nestjs/common';
import { Streams } from '@hotswap/contracts';
import { modelDecider, type ModelCommand, type ModelState } from '@hotswap/domain';
import { handleCommand, loadState, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';

type DataOf<T extends ModelCommand['type']> = Extract<ModelCommand, { type: T }>['data'];

/** The validator's actor in the audit trail. */
export const VALIDATOR_ACTOR = 'system:validator';

/** Runs model commands against their stream (read, decide, append, retry on conflict). */
@Injectable()
export class ModelCommands {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async run<T extends ModelCommand['type']>(type: T, data: DataOf<T> & { modelId: string }, actor = VALIDATOR_ACTOR, traceparent?: string) {
    const now = this.runtime.clock().toISOString();
    const command = { type, data, metadata: { now } } as ModelCommand;
    return handleCommand(this.runtime.eventStore, Streams.model(data.modelId), modelDecider, command, { actor, traceparent, now });
  }

  async state(modelId: string): Promise<ModelState> {
    return (await loadState(this.runtime.eventStore, Streams.model(modelId), modelDecider)).state;
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { Streams } from '@hotswap/contracts';
import { distributionDecider, type DistributionCommand, type DistributionState } from '@hotswap/domain';
import { handleCommand, loadState, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';

type DataOf<T extends DistributionCommand['type']> = Extract<DistributionCommand, { type: T }>['data'];

/** Runs distribution commands against their stream (read, decide, append, retry on conflict). */
@Injectable()
export class DistributionCommands {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async run<T extends DistributionCommand['type']>(type: T, data: DataOf<T> & { distributionId: string }, actor: string, traceparent?: string) {
    const now = this.runtime.clock().toISOString();
    const command = { type, data, metadata: { now } } as DistributionCommand;
    return handleCommand(this.runtime.eventStore, Streams.distribution(data.distributionId), distributionDecider, command, { actor, traceparent, now });
  }

  async state(distributionId: string): Promise<DistributionState> {
    return (await loadState(this.runtime.eventStore, Streams.distribution(distributionId), distributionDecider)).state;
  }
}

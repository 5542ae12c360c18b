import {
  activeTraceparent, childTraceparent, modelAttributes, SpanAttributes, Spans, withRemoteParent, withSpan,
} from '@hotswap/infrastructure';
import type { SwapCommand } from '@hotswap/contracts';
import type { SwapJob } from '../swap/swap-pipeline.js';

type Outcome = 'swapped' | 'already-active' | 'failed';

/** A failed swap is reported, not thrown, by the pipeline; the span still says ERROR. */
class SwapFailed extends Error {
  constructor() {
    super('the swap failed; the status report says why');
  }
}

/**
 * Runs one swap job in a `device.update` span continuing the trace of the command that asked for it
 * (the `traceparent` the distributor sent, i.e. its `distribution.execute` span). Status reports of
 * the job carry the span's own traceparent back to the control plane. Without a tracer (no
 * `startTracing` in the process) the reports carry a child of the command's traceparent.
 */
export async function tracedSwap(deviceId: string, job: SwapJob, run: (job: SwapJob) => Promise<Outcome>): Promise<Outcome> {
  const { command } = job;
  const attributes = { [SpanAttributes.deviceId]: deviceId, ...swapModelAttributes(command) };
  try {
    return await withRemoteParent(job.traceparent, Spans.deviceUpdate, attributes, async () => {
      const own = activeTraceparent();
      const outcome = await run({ ...job, traceparent: own !== undefined && own !== job.traceparent ? own : childTraceparent(job.traceparent) });
      if (outcome === 'failed') throw new SwapFailed();
      return outcome;
    });
  } catch (error) {
    if (error instanceof SwapFailed) return 'failed';
    throw error;
  }
}

/** The `model.swap` span (load, warm up, switch) inside `device.update`. */
export function swapSpan<T>(deviceId: string, command: SwapCommand, fn: () => Promise<T>): Promise<T> {
  return withSpan(Spans.modelSwap, { [SpanAttributes.deviceId]: deviceId, ...swapModelAttributes(command) }, fn);
}

function swapModelAttributes(command: SwapCommand) {
  const manifest = command.release.manifest;
  return modelAttributes({ id: command.modelId, version: manifest.version, checksum: manifest.sha256 });
}

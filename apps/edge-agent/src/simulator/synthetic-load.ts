/**
 * A steady synthetic inference load on simulated devices, so telemetry (and what the monitor
 * decides from it) can be seen without an application on each device. One timer drives the whole
 * fleet; each device runs `ratePerSec` inferences per second on zero inputs shaped like its active
 * model's, while it has one.
 */
import { performance } from 'node:perf_hooks';
import type { EdgeAgent } from '../agent/edge-agent.js';
import { zeroFeeds } from '../swap/tensors.js';

export interface SyntheticLoadOptions {
  /** Inferences per second per device. */
  readonly ratePerSec: number;
  /** Timer period, in ms. Default: 1000 / rate, kept within 10..250. */
  readonly tickMs?: number;
  /** Inferences a device may have running at once; beyond, the due ones are skipped. Default 8. */
  readonly maxInFlightPerDevice?: number;
}

export class SyntheticLoad {
  /** Inferences started, failed (an error from the model) and skipped (device busy or without a model). */
  readonly counts = { started: 0, failed: 0, skipped: 0 };
  private readonly credit: number[];
  private readonly inFlight: number[];
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  constructor(
    private readonly agents: readonly EdgeAgent[],
    private readonly options: SyntheticLoadOptions,
  ) {
    if (!(Number.isFinite(options.ratePerSec) && options.ratePerSec >= 0)) throw new RangeError(`ratePerSec must be a number >= 0, got ${options.ratePerSec}`);
    // Staggered, so the devices do not all fire on the same tick.
    this.credit = agents.map((_, i) => i / Math.max(1, agents.length));
    this.inFlight = agents.map(() => 0);
  }

  start(): void {
    if (this.timer !== undefined || this.options.ratePerSec === 0) return;
    const tickMs = this.options.tickMs ?? Math.min(250, Math.max(10, 1000 / this.options.ratePerSec));
    this.last = performance.now();
    this.timer = setInterval(() => this.tick(), tickMs).unref();
  }

  /** Stops issuing and waits for the inferences in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.running);
  }

  private tick(): void {
    const now = performance.now();
    const due = (this.options.ratePerSec * (now - this.last)) / 1000;
    this.last = now;
    const max = this.options.maxInFlightPerDevice ?? 8;
    this.agents.forEach((agent, i) => {
      this.credit[i] += due;
      const model = agent.servedModel();
      while (this.credit[i] >= 1) {
        this.credit[i] -= 1;
        if (model === undefined || this.inFlight[i] >= max) {
          this.counts.skipped++;
          continue;
        }
        this.inFlight[i]++;
        this.counts.started++;
        const run = agent
          .inferTensors(zeroFeeds(model.inputs), { transfer: true })
          .then(
            () => undefined,
            () => {
              this.counts.failed++;
            },
          )
          .finally(() => {
            this.inFlight[i]--;
            this.running.delete(run);
          });
        this.running.add(run);
      }
    });
  }
}

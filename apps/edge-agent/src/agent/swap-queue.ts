/**
 * Runs one swap at a time. While one runs, only the latest submitted job waits: a newer command
 * supersedes a queued one (the control plane's last word is the one that counts), never the
 * running one.
 */
export class SwapQueue<T> {
  private runningJob: T | undefined;
  private pendingJob: T | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    /** Runs one job; it reports its own failures, so a rejection here is only logged by `onError`. */
    private readonly execute: (job: T) => Promise<void>,
    private readonly onSuperseded: (dropped: T, by: T) => void,
    private readonly onError: (err: unknown, job: T) => void,
  ) {}

  get running(): T | undefined {
    return this.runningJob;
  }

  get pending(): T | undefined {
    return this.pendingJob;
  }

  submit(job: T): void {
    if (this.runningJob === undefined) {
      void this.run(job);
      return;
    }
    if (this.pendingJob !== undefined) this.onSuperseded(this.pendingJob, job);
    this.pendingJob = job;
  }

  /** Resolves when no job runs or waits. */
  idle(): Promise<void> {
    return this.runningJob === undefined ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(job: T): Promise<void> {
    this.runningJob = job;
    try {
      await this.execute(job);
    } catch (err) {
      this.onError(err, job);
    }
    const next = this.pendingJob;
    this.pendingJob = undefined;
    this.runningJob = undefined;
    if (next !== undefined) {
      void this.run(next);
    } else {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}

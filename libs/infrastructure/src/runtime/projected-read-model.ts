import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ProjectionRunner, type Projection } from '../projections/index.js';
import type { ServiceRuntime } from './service-runtime.js';

/** How long a command handler waits for its own write to reach the read model. */
export const READ_YOUR_WRITES_TIMEOUT_MS = 10_000;

/**
 * A read model kept by one projection: runs the projection for the service's lifetime and lets
 * command handlers wait until their own events are applied (read-your-writes).
 */
export abstract class ProjectedReadModel implements OnModuleInit, OnModuleDestroy {
  private readonly runner: ProjectionRunner;

  protected constructor(protected readonly runtime: ServiceRuntime, projection: Projection) {
    this.runner = new ProjectionRunner({ store: runtime.eventStore, db: runtime.db, projection });
  }

  async onModuleInit(): Promise<void> {
    await this.runner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runner.stop();
  }

  /** Resolves once the projection has applied the commit at `position`. */
  waitFor(position: bigint): Promise<void> {
    return this.runner.waitForPosition(position, READ_YOUR_WRITES_TIMEOUT_MS);
  }
}

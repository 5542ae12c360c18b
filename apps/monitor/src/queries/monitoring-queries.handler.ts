import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queries, queueGroup, Services, type TargetHealthQuery } from '@hotswap/contracts';
import { closeAll, SERVICE_RUNTIME, validateById, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { DistributionMonitor } from '../distributions/distribution-monitor.js';

/** Targets one get-target-health query may ask about. */
export const MAX_HEALTH_TARGETS = 10_000;

/** `get-distribution-metrics`, `get-ab-test-result` and `get-target-health`. */
@Injectable()
export class MonitoringQueriesHandler implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly monitor: DistributionMonitor,
  ) {}

  async onModuleInit(): Promise<void> {
    const queue = queueGroup(Services.monitor);
    this.subscriptions = await Promise.all([
      this.runtime.bus.handle(Queries.getDistributionMetrics, { queue, validate: validateById, handler: ({ id }) => this.monitor.metrics(id) }),
      this.runtime.bus.handle(Queries.getAbTestResult, { queue, validate: validateById, handler: ({ id }) => this.monitor.abTestResult(id) }),
      this.runtime.bus.handle(Queries.getTargetHealth, { queue, validate: validateTargetHealthQuery, handler: (query) => this.monitor.targetHealth(query) }),
    ]);
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** `{ targets: [{ deviceId, modelId, since }] }`, naming the first bad field. */
export function validateTargetHealthQuery(payload: unknown): ValidationResult<TargetHealthQuery> {
  const targets = (payload as { targets?: unknown } | null)?.targets;
  if (!Array.isArray(targets) || targets.length === 0 || targets.length > MAX_HEALTH_TARGETS) {
    return { ok: false, reason: `targets must be an array of 1 to ${MAX_HEALTH_TARGETS} entries` };
  }
  for (const [i, target] of targets.entries()) {
    const t = target as Record<string, unknown> | null;
    if (typeof t !== 'object' || t === null) return { ok: false, reason: `targets[${i}] must be an object { deviceId, modelId, since }` };
    for (const field of ['deviceId', 'modelId'] as const) {
      const value = t[field];
      if (typeof value !== 'string' || value === '' || value.length > 200) {
        return { ok: false, reason: `targets[${i}].${field} must be a non-empty string of at most 200 characters` };
      }
    }
    if (typeof t['since'] !== 'string' || !ISO_DATE_TIME.test(t['since']) || Number.isNaN(Date.parse(t['since']))) {
      return { ok: false, reason: `targets[${i}].since must be an ISO 8601 date-time, got ${JSON.stringify(t['since'])}` };
    }
  }
  return {
    ok: true,
    value: { targets: targets.map((t: { deviceId: string; modelId: string; since: string }) => ({ deviceId: t.deviceId, modelId: t.modelId, since: t.since })) },
  };
}

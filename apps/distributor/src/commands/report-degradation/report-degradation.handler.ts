import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Commands, DEGRADATION_TRIGGERS, queueGroup, Services, type ReportDegradationCommand } from '@hotswap/contracts';
import { closeAll, SERVICE_RUNTIME, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { Conductor } from '../../conductor/conductor.js';
import { DistributionCommands } from '../../distribution-commands.js';

/** The monitor saw a distribution's new model do worse: pause, roll back or record, by the distribution's policy. */
@Injectable()
export class ReportDegradationHandler implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly distributions: DistributionCommands,
    private readonly conductor: Conductor,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscriptions = [await this.runtime.bus.handle(Commands.reportDegradation, {
      queue: queueGroup(Services.distributor),
      validate: validateReport,
      handler: async (report, ctx) => {
        const { actor, distributionId, ...rest } = report;
        const { events } = await this.distributions.run('ReportDegradation', { distributionId, ...rest, by: actor }, actor, ctx.traceparent);
        // Roll back at once rather than at the next tick.
        if (events.length > 0) void this.conductor.tick();
        return { accepted: events.length > 0 };
      },
    })];
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}

const NUMBERS = ['baseline', 'observed', 'threshold', 'samples'] as const;

function validateReport(payload: unknown): ValidationResult<ReportDegradationCommand> {
  const p = (payload ?? {}) as Record<string, unknown>;
  if (typeof p.distributionId !== 'string' || p.distributionId === '') return { ok: false, reason: 'distributionId is required' };
  if (!DEGRADATION_TRIGGERS.includes(p.trigger as never)) return { ok: false, reason: `trigger must be one of ${DEGRADATION_TRIGGERS.join(', ')}` };
  if (typeof p.detail !== 'string' || p.detail === '') return { ok: false, reason: 'detail is required' };
  if (typeof p.actor !== 'string' || p.actor === '') return { ok: false, reason: 'actor is required' };
  for (const key of NUMBERS) {
    if (p[key] !== undefined && (typeof p[key] !== 'number' || !Number.isFinite(p[key]))) return { ok: false, reason: `${key} must be a finite number` };
  }
  for (const key of ['group', 'modelId'] as const) {
    if (p[key] !== undefined && typeof p[key] !== 'string') return { ok: false, reason: `${key} must be a string` };
  }
  return { ok: true, value: p as unknown as ReportDegradationCommand };
}

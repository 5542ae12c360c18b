import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, Queries, queueGroup, RETENTION_ACTOR, Services,
  type ApplyRetentionPolicyCommand, type DeviceView, type DistributionsUsingModelQuery, type DistributionsUsingModelView, type ListDevicesQuery,
  type ModelView, type Page, type RetentionDecision, type RetentionReport,
} from '@hotswap/contracts';
import { IllegalStateError } from '@hotswap/domain';
import { SERVICE_RUNTIME, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { DeleteModelVersionHandler } from '../commands/delete-model-version/delete-model-version.handler.js';
import { PEER_TIMEOUT_MS } from '../commands/model-version-command.js';
import { ModelsReadModel } from '../projections/models/models.read-model.js';
import { formatDuration, isPolicyOn, type RetentionOptions } from './retention-config.js';
import { planRetention } from './retention-plan.js';

export const RETENTION_OPTIONS = Symbol.for('hotswap.model-registry.retention');

const PAGE = 500;

/**
 * The retention policy: on request (`apply-retention-policy`, optionally a dry run) and, when a rule
 * is set, every `intervalMs`. Versions no rule keeps are deleted through the registry's own delete
 * path with the actor `retention-policy`, so a version a device runs or an unfinished distribution
 * uses is refused there too, even if that started after this run checked. Replicas may run it at
 * the same time: the second delete of a version is refused and reported under `failed`.
 */
@Injectable()
export class RetentionHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;
  private timer?: NodeJS.Timeout;
  private running?: Promise<RetentionReport>;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(RETENTION_OPTIONS) private readonly options: RetentionOptions,
    private readonly models: ModelsReadModel,
    private readonly deletes: DeleteModelVersionHandler,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.applyRetentionPolicy, {
      queue: queueGroup(Services.modelRegistry), validate: validateRetentionCommand,
      handler: (command) => this.handle(command),
    });
    if (isPolicyOn(this.options.policy)) {
      this.timer = setInterval(() => void this.scheduledRun(), this.options.intervalMs);
      this.timer.unref();
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.subscription?.close();
    await this.running?.catch(() => undefined);
  }

  /** `apply-retention-policy`: refused (409) while the policy has no rule, so a run never surprises. */
  handle(command: ApplyRetentionPolicyCommand): Promise<RetentionReport> {
    if (!isPolicyOn(this.options.policy)) {
      return Promise.reject(new IllegalStateError('the retention policy is off: set HOTSWAP_RETENTION_KEEP_LATEST and/or HOTSWAP_RETENTION_MAX_AGE'));
    }
    return this.apply(command.dryRun);
  }

  /** One run; runs asked for while one is going on share it (a dry run never shares a real one). */
  apply(dryRun: boolean): Promise<RetentionReport> {
    if (dryRun) return this.run(true);
    this.running ??= this.run(false).finally(() => { this.running = undefined; });
    return this.running;
  }

  private async scheduledRun(): Promise<void> {
    try {
      const report = await this.apply(false);
      if (report.deleted.length > 0 || report.failed.length > 0) {
        this.runtime.logger.info('retention policy ran', { deleted: report.deleted.map((d) => d.id), failed: report.failed });
      }
    } catch (error) {
      this.runtime.logger.warn('retention policy run failed', { error: String(error) });
    }
  }

  private async run(dryRun: boolean): Promise<RetentionReport> {
    const now = this.runtime.clock();
    const { policy } = this.options;
    const plan = planRetention(await this.allVersions(), policy, now);
    const kept = [...plan.kept];
    const deleted: RetentionDecision[] = [];
    const failed: RetentionDecision[] = [];
    for (const candidate of plan.candidates) {
      const use = await this.useOf(candidate.id);
      if (use !== undefined) {
        kept.push({ ...candidate, reason: use });
        continue;
      }
      if (dryRun) {
        deleted.push(candidate);
        continue;
      }
      try {
        await this.deletes.execute({ actor: RETENTION_ACTOR, name: candidate.name, version: candidate.version });
        deleted.push(candidate);
      } catch (error) {
        failed.push({ ...candidate, reason: (error as Error).message });
      }
    }
    return {
      dryRun,
      policy: {
        ...(policy.keepLatest === undefined ? {} : { keepLatest: policy.keepLatest }),
        ...(policy.maxAgeMs === undefined ? {} : { maxAge: formatDuration(policy.maxAgeMs) }),
      },
      ranAt: now.toISOString(),
      deleted, kept: kept.sort((a, b) => a.id.localeCompare(b.id)), failed,
    };
  }

  private async allVersions(): Promise<ModelView[]> {
    const all: ModelView[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.models.list({ limit: PAGE, offset });
      all.push(...page.items);
      if (page.items.length < PAGE) return all;
    }
  }

  /** Why the version is in use (devices run it, a distribution has not finished), or undefined. A peer that does not answer keeps it. */
  private async useOf(id: string): Promise<string | undefined> {
    try {
      const running = await this.runtime.bus.request<ListDevicesQuery, Page<DeviceView>>(
        Queries.listDevices, { modelId: id, limit: 3 }, { timeoutMs: PEER_TIMEOUT_MS },
      );
      if (running.total > 0) {
        const more = running.total > running.items.length ? ` and ${running.total - running.items.length} more` : '';
        return `runs on ${running.total} device${running.total > 1 ? 's' : ''} (${running.items.map((d) => d.id).join(', ')}${more})`;
      }
      const { items } = await this.runtime.bus.request<DistributionsUsingModelQuery, DistributionsUsingModelView>(
        Queries.distributionsUsingModel, { modelId: id }, { timeoutMs: PEER_TIMEOUT_MS },
      );
      if (items.length > 0) return `used by ${items.map((d) => `distribution ${d.id} (${d.status})`).join(', ')}`;
      return undefined;
    } catch (error) {
      return `its use could not be checked: ${(error as Error).message}`;
    }
  }
}

function validateRetentionCommand(payload: unknown): ValidationResult<ApplyRetentionPolicyCommand> {
  const p = (payload ?? {}) as Record<string, unknown>;
  const problems = [
    ...(typeof p['actor'] === 'string' && p['actor'] !== '' ? [] : ['actor is required']),
    ...(typeof p['dryRun'] === 'boolean' ? [] : ['dryRun must be true or false']),
  ];
  return problems.length ? { ok: false, reason: problems.join('; ') } : { ok: true, value: { actor: p['actor'] as string, dryRun: p['dryRun'] as boolean } };
}

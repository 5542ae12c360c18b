import { Inject, Injectable } from '@nestjs/common';
import {
  Queries, type CreateDistributionCommand, type DeviceCapabilities, type DeviceView, type ModelView, type Page, type TargetFilter,
  type ValidationReportView,
} from '@hotswap/contracts';
import { describeFailedChecks, PlanError, toExecutionPolicy, type FleetSnapshot, type PlanRequest } from '@hotswap/domain';
import { RemoteError, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { DISTRIBUTOR_OPTIONS, type DistributorOptions } from '../distributor.options.js';

/** An error with the code the gateway maps to an HTTP status. */
export class CodedError extends Error {
  constructor(readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

/** The device registry answers at most this many devices per page. */
const PAGE = 500;

/**
 * Turns a `create-distribution` (or its dry run) into the domain's `PlanRequest`: checks the models,
 * resolves the targets (named, or every device the filter matches), reads their fleet snapshot and
 * the regions the plan names. Plan rules themselves are the domain's (`planDistribution`).
 */
@Injectable()
export class PlanRequests {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DISTRIBUTOR_OPTIONS) private readonly options: DistributorOptions,
  ) {}

  async build(command: CreateDistributionCommand): Promise<PlanRequest> {
    const ab = command.strategy === 'ABTesting';
    const rolledOut = ab ? command.modelB ?? command.modelId : command.modelId;
    if (typeof rolledOut !== 'string' || rolledOut === '') {
      throw new PlanError(ab ? 'modelB' : 'modelId', 'is required');
    }
    const models = await Promise.all([rolledOut, ...(ab && command.modelA ? [command.modelA] : [])].map((id) => this.model(id)));
    await this.checkDistributable(models[0]);
    const devices = await this.resolveTargets(command);
    const regions = [...new Set([...(command.regions ?? []), ...(command.maintenanceWindows ?? []).flatMap((w) => w.regions)])];
    return {
      strategy: command.strategy,
      ...(ab ? {} : { modelId: rolledOut }),
      ...(command.modelId !== undefined && ab ? { modelId: command.modelId } : {}),
      regions: command.regions, delayBetweenRegions: command.delayBetweenRegions,
      canaryPercentage: command.canaryPercentage, canaryDuration: command.canaryDuration,
      modelA: command.modelA, modelB: command.modelB, splitPercentage: command.splitPercentage, testDuration: command.testDuration,
      winnerCriteria: command.winnerCriteria, stages: command.stages, autoProgress: command.autoProgress,
      targets: devices.map((d) => d.id),
      fleet: fleetOf(devices),
      knownRegions: await this.knownRegions(regions, devices),
      requirements: mergedRequirements(models),
      protectedTags: this.options.protectedTags,
      ...(command.successCriteria !== undefined ? { successCriteria: command.successCriteria } : {}),
      ...(command.schedule?.startAt !== undefined ? { startAt: command.schedule.startAt } : {}),
      ...(command.maintenanceWindows !== undefined ? { maintenanceWindows: command.maintenanceWindows } : {}),
      execution: toExecutionPolicy(command.execution, this.options.executionDefaults),
    };
  }

  private async model(modelId: string): Promise<ModelView> {
    try {
      return await this.runtime.bus.request<{ id: string }, ModelView>(Queries.getModel, { id: modelId }, { timeoutMs: 5_000 });
    } catch (error) {
      if (error instanceof RemoteError && error.code === 'NOT_FOUND') throw new CodedError('NOT_FOUND', `model ${modelId} not found`);
      throw error;
    }
  }

  private async checkDistributable(model: ModelView): Promise<void> {
    // Deprecated is refused whether or not validation is required.
    if (model.status === 'Deprecated') {
      throw new CodedError(
        'CONFLICT',
        `model ${model.id} is Deprecated${model.deprecatedAt ? ` (since ${model.deprecatedAt})` : ''} and cannot be the target of a new distribution`,
        { status: model.status },
      );
    }
    if (!this.options.requireValidation || model.status === 'Validated') return;
    if (model.status !== 'Rejected') {
      throw new CodedError('CONFLICT', `model ${model.id} is ${model.status}, not Validated; only validated models can be distributed`, { status: model.status });
    }
    const report = await this.runtime.bus
      .request<{ id: string }, ValidationReportView>(Queries.getValidationReport, { id: model.id }, { timeoutMs: 5_000 })
      .catch(() => undefined);
    const failedChecks = report?.checks.filter((c) => !c.passed) ?? [];
    throw new CodedError(
      'CONFLICT',
      `model ${model.id} failed validation and cannot be distributed${failedChecks.length ? `; failing checks: ${describeFailedChecks(failedChecks)}` : ''}`,
      { status: model.status, failedChecks },
    );
  }

  private async resolveTargets(command: CreateDistributionCommand): Promise<DeviceView[]> {
    const ids = command.targetDevices ? [...new Set(command.targetDevices)] : undefined;
    if (!ids && !command.targetFilter) throw new CodedError('BAD_REQUEST', 'targetDevices or targetFilter is required');
    if (ids) {
      const devices = await this.byIds(ids);
      const known = new Set(devices.map((d) => d.id));
      const unknown = ids.filter((id) => !known.has(id));
      if (unknown.length) {
        throw new CodedError('NOT_FOUND', `unknown device${unknown.length > 1 ? 's' : ''}: ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ` and ${unknown.length - 20} more` : ''}`, { unknownDevices: unknown });
      }
      const filtered = command.targetFilter ? devices.filter((d) => matchesFilter(d, command.targetFilter as TargetFilter)) : devices;
      if (filtered.length === 0) throw new CodedError('BAD_REQUEST', 'targetFilter matches none of targetDevices');
      // Keep the order the operator gave.
      const order = new Map(ids.map((id, i) => [id, i]));
      return filtered.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
    }
    const devices = await this.matching(command.targetFilter as TargetFilter);
    if (devices.length === 0) throw new CodedError('BAD_REQUEST', 'targetFilter matches no device');
    return devices;
  }

  /** Every device the filter matches, in the registry's order. */
  async matching(filter: TargetFilter): Promise<DeviceView[]> {
    const { tags = [], capabilities = {}, region, deviceType } = filter;
    const query = {
      ...(region !== undefined ? { region } : {}), ...(deviceType !== undefined ? { deviceType } : {}),
      ...(tags[0] !== undefined ? { tag: tags[0] } : {}),
      ...(capabilities.gpu !== undefined ? { gpu: capabilities.gpu } : {}),
      ...(capabilities.minCpuCores !== undefined ? { minCpuCores: capabilities.minCpuCores } : {}),
      ...(capabilities.minMemoryMb !== undefined ? { minMemoryMb: capabilities.minMemoryMb } : {}),
      ...(capabilities.minStorageMb !== undefined ? { minStorageMb: capabilities.minStorageMb } : {}),
      ...(capabilities.transport !== undefined ? { transport: capabilities.transport } : {}),
    };
    const devices: DeviceView[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.runtime.bus.request<object, Page<DeviceView>>(Queries.listDevices, { ...query, limit: PAGE, offset }, { timeoutMs: 10_000 });
      devices.push(...page.items);
      if (page.items.length < PAGE || devices.length >= page.total) break;
    }
    // The registry filters by one tag; a target carries every tag of the filter.
    return devices.filter((d) => matchesFilter(d, filter));
  }

  private async byIds(ids: readonly string[]): Promise<DeviceView[]> {
    const devices: DeviceView[] = [];
    for (let i = 0; i < ids.length; i += PAGE) {
      const chunk = ids.slice(i, i + PAGE);
      const page = await this.runtime.bus.request<object, Page<DeviceView>>(Queries.listDevices, { ids: chunk, limit: PAGE }, { timeoutMs: 10_000 });
      devices.push(...page.items);
    }
    return devices;
  }

  /** The regions among `names` that some device of the fleet is in. */
  private async knownRegions(names: readonly string[], targets: readonly DeviceView[]): Promise<string[]> {
    const known = new Set(targets.map((d) => d.region));
    for (const region of names) {
      if (known.has(region)) continue;
      const page = await this.runtime.bus.request<object, Page<DeviceView>>(Queries.listDevices, { region, limit: 1 }, { timeoutMs: 5_000 });
      if (page.total > 0) known.add(region);
    }
    return [...known];
  }
}

export function matchesFilter(device: DeviceView, filter: TargetFilter): boolean {
  const { capabilities: c = {} } = filter;
  return (filter.region === undefined || device.region === filter.region)
    && (filter.deviceType === undefined || device.deviceType === filter.deviceType)
    && (filter.tags ?? []).every((tag) => device.tags.includes(tag))
    && (c.gpu === undefined || device.capabilities.gpu === c.gpu)
    && (c.minCpuCores === undefined || device.capabilities.cpuCores >= c.minCpuCores)
    && (c.minMemoryMb === undefined || device.capabilities.memoryMb >= c.minMemoryMb)
    && (c.minStorageMb === undefined || device.capabilities.storageMb >= c.minStorageMb)
    && (c.transport === undefined || (device.capabilities.transport ?? 'http') === c.transport);
}

export function fleetOf(devices: readonly DeviceView[]): FleetSnapshot {
  return Object.fromEntries(devices.map((d) => [d.id, {
    status: d.status, region: d.region, deviceType: d.deviceType, tags: d.tags, capabilities: d.capabilities,
    ...(d.currentModelId ? { currentModelId: d.currentModelId } : {}),
  }]));
}

/** What every model of the plan needs: the larger figure of each requirement. */
function mergedRequirements(models: readonly ModelView[]): Partial<DeviceCapabilities> | undefined {
  const all = models.map((m) => m.metadata?.requirements).filter((r): r is Partial<DeviceCapabilities> => r !== undefined);
  if (all.length === 0) return undefined;
  const merged: { -readonly [K in keyof DeviceCapabilities]?: DeviceCapabilities[K] } = {};
  for (const r of all) {
    if (r.gpu === true) merged.gpu = true;
    for (const key of ['cpuCores', 'memoryMb', 'storageMb'] as const) {
      const value = r[key];
      if (typeof value === 'number') merged[key] = Math.max(merged[key] ?? 0, value);
    }
  }
  return merged;
}

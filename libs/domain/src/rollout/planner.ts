import type {
  AbTestSpec, DeviceCapabilities, DeviceStatus, ExcludedTarget, ExecutionPolicy, MaintenanceWindow, Strategy, StrategyFields,
  SuccessCriteria, WaveSpec,
} from '@hotswap/contracts';
import { InvalidCommandError } from '../errors.js';

/** What a planner knows of one device when it plans: a snapshot, not a live view. */
export interface FleetDevice {
  readonly status: DeviceStatus;
  readonly currentModelId?: string;
  readonly region?: string;
  readonly deviceType?: string;
  readonly tags?: readonly string[];
  readonly capabilities?: DeviceCapabilities;
}

/** Device id → its last known state. Devices missing from it are simply unknown to the planner. */
export type FleetSnapshot = Readonly<Record<string, FleetDevice>>;

/** Everything a distribution plan is made from; the caller resolved the targets and read the fleet. */
export interface PlanRequest extends StrategyFields {
  readonly strategy: Strategy;
  /** The model rolled out; for ABTesting it may be omitted and is then `modelB`. */
  readonly modelId?: string;
  /** Candidate target ids (named, or matched by the filter), in the order given. */
  readonly targets: readonly string[];
  readonly fleet: FleetSnapshot;
  /** Every region the fleet knows, to name an unknown one. */
  readonly knownRegions: readonly string[];
  /** What the model needs from a device (its metadata's `requirements`). */
  readonly requirements?: Partial<DeviceCapabilities>;
  /** Targets carrying one of these tags need an operator's approval before their wave (e.g. `production`). */
  readonly protectedTags: readonly string[];
  readonly successCriteria?: SuccessCriteria;
  readonly startAt?: string;
  readonly maintenanceWindows?: readonly MaintenanceWindow[];
  /** Execution settings with durations already in ms (`toExecutionPolicy` fills the rest). */
  readonly execution: ExecutionPolicy;
}

/** A wave with its devices, before they are flattened into the `targets` of `DistributionCreated`. */
export interface PlannedWave extends Omit<WaveSpec, 'size'> {
  readonly deviceIds: readonly string[];
}

/** A validated plan: what `DistributionCreated` records (and the dry run shows). */
export interface DistributionPlan {
  readonly strategy: Strategy;
  readonly modelId: string;
  readonly waves: readonly PlannedWave[];
  readonly excluded: readonly ExcludedTarget[];
  readonly abTest?: AbTestSpec;
}

/** What a strategy planner receives: the targets that can run the model, the request, and a field checker. */
export interface StrategyInput {
  readonly request: PlanRequest;
  readonly modelId: string;
  /** Eligible targets, in the request's order. */
  readonly targets: readonly string[];
}

/**
 * A rollout strategy as a pure planner: it checks its own fields (throwing `PlanError`s that name
 * the field) and splits the eligible targets into waves with their gates. Running the waves —
 * pacing, verification, observation, approvals — is the same for every strategy (the decider).
 */
export interface StrategyPlanner {
  readonly strategy: Strategy;
  plan(input: StrategyInput): { readonly waves: readonly PlannedWave[]; readonly abTest?: AbTestSpec };
}

/** A bad plan: the message starts with the field, e.g. `canaryPercentage must be ...`. */
export class PlanError extends InvalidCommandError {
  constructor(readonly field: string, message: string) {
    super(`${field} ${message}`);
  }
}

/** A plan needs at least one target and none twice. */
export function assertDistinctTargets(subject: string, targets: readonly string[]): void {
  if (!Array.isArray(targets) || targets.length === 0) {
    throw new InvalidCommandError(`${subject}: targets must list at least one device`);
  }
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target)) throw new InvalidCommandError(`${subject}: target device ${target} is listed more than once`);
    seen.add(target);
  }
}

export function fleetDevice(fleet: FleetSnapshot | undefined, deviceId: string): FleetDevice | undefined {
  // hasOwn, because a device may well be called "constructor".
  return fleet !== undefined && Object.hasOwn(fleet, deviceId) ? fleet[deviceId] : undefined;
}

/** `ceil(total * percentage / 100)`, at least 1 and at most `total` (percentages above 0). */
export function shareOf(total: number, percentage: number): number {
  if (percentage <= 0) return 0;
  // The epsilon keeps 10% of 30 at 3 despite 30 * 10 / 100 = 3.0000000000000004.
  return Math.min(total, Math.max(1, Math.ceil((total * percentage) / 100 - 1e-9)));
}

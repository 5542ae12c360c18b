import type { DeviceStatus, Strategy } from '@hotswap/contracts';
import { InvalidCommandError } from '../errors.js';

/** What a planner knows of one device when it plans: a snapshot, not a live view. */
export interface FleetDevice {
  readonly status: DeviceStatus;
  readonly currentModelId?: string;
}

/** Device id → its last known state. Devices missing from it are simply unknown to the planner. */
export type FleetSnapshot = Readonly<Record<string, FleetDevice>>;

export interface PlanInput {
  /** The model being rolled out. */
  readonly modelId: string;
  /** Target device ids, in rollout order. */
  readonly targets: readonly string[];
  readonly fleet: FleetSnapshot;
}

export interface RolloutPlan {
  readonly strategy: Strategy;
  /** Device ids per wave; wave n (1-based) is `waves[n - 1]`. Every target is in exactly one wave. */
  readonly waves: readonly (readonly string[])[];
  /**
   * Targets the fleet snapshot shows already running the model. They are still requested (the
   * device answers idempotently); this is for reporting.
   */
  readonly alreadyRunning: readonly string[];
}

export const TARGET_STATUSES = ['Pending', 'Requested', 'Updated', 'Failed'] as const;
/** Where one target device stands within a distribution. */
export type TargetStatus = (typeof TARGET_STATUSES)[number];

export type TargetState =
  | { readonly status: 'Pending' }
  | { readonly status: 'Requested'; readonly commandId: string; readonly wave: number; readonly requestedAt: string }
  | { readonly status: 'Updated'; readonly commandId: string; readonly swapMs: number; readonly at: string }
  | { readonly status: 'Failed'; readonly commandId: string; readonly reason: string; readonly at: string };

/** How many targets are in each state. */
export type TargetCounts = Readonly<Record<TargetStatus, number>>;

/** What a planner looks at to choose its next actions. */
export interface RolloutSituation {
  readonly plan: RolloutPlan;
  /** Targets per state, over every target of the plan. */
  readonly counts: TargetCounts;
  /** The state of a target of the plan; undefined (counts as Pending) when unknown. */
  readonly targetState: (deviceId: string) => TargetState | undefined;
  /** Present when the caller has a fresh snapshot (health-gated strategies need it). */
  readonly fleet?: FleetSnapshot;
  /** ISO 8601; for strategies that wait between waves. */
  readonly now: string;
}

export type RolloutAction =
  /** Command the devices of a wave to swap. */
  | { readonly type: 'RequestWave'; readonly wave: number; readonly deviceIds: readonly string[] }
  /** The rollout reached every target. */
  | { readonly type: 'Succeed'; readonly updated: number }
  | { readonly type: 'Fail'; readonly reason: string; readonly updated: number; readonly failed: number };

/**
 * A rollout strategy as a pure planner: `plan` splits the targets into waves once, `next` reads
 * the progress (and the fleet and clock, when given) and says what to do now; [] means wait.
 */
export interface RolloutPlanner {
  readonly strategy: Strategy;
  plan(input: PlanInput): RolloutPlan;
  next(situation: RolloutSituation): RolloutAction[];
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

import type { DistributionEvent, DistributionStatus, RollbackPolicy, Strategy, SuccessCriteria } from '@hotswap/contracts';
import type { TargetCounts, TargetState } from '../rollout/planner.js';

/**
 * Lifecycle of a distribution so far. `Created` (accepted, not started) has no name in the API's
 * DistributionStatus; the others are its Running / Succeeded / Failed.
 */
export type DistributionLifecycle = 'Created' | Extract<DistributionStatus, 'Running' | 'Succeeded' | 'Failed'>;

export interface ExistingDistribution {
  readonly status: DistributionLifecycle;
  readonly distributionId: string;
  readonly modelId: string;
  readonly strategy: Strategy;
  /** Target device ids, in rollout order. */
  readonly targets: readonly string[];
  readonly successCriteria: SuccessCriteria;
  readonly rollbackPolicy: RollbackPolicy;
  /** A rollback to an older version. */
  readonly rollback?: boolean;
  readonly createdAt: string;
  /** Position of each target in `targets`; built at creation and shared, unchanged, by later states. */
  readonly targetIndex: ReadonlyMap<string, number>;
  /**
   * `targetStates[i]` is the state of `targets[i]`. An array rather than a map because evolve copies
   * it on every target event, and copying an array is ~100× cheaper (10 000 targets: 0.2 s vs 19 s
   * to fold a whole distribution).
   */
  readonly targetStates: readonly TargetState[];
  /** Targets per state, kept by evolve so a decision need not count them. */
  readonly targetCounts: TargetCounts;
  readonly startedAt?: string;
  /** When it succeeded or failed. */
  readonly finishedAt?: string;
  readonly failureReason?: string;
}

/** The distribution aggregate (stream `distribution-<distributionId>`). */
export type DistributionState = { readonly status: 'Empty' } | ExistingDistribution;

export const TERMINAL_DISTRIBUTION_STATUSES: readonly DistributionLifecycle[] = ['Succeeded', 'Failed'];

export function initialDistributionState(): DistributionState {
  return { status: 'Empty' };
}

/** The state of one target, or undefined when the device is not a target. */
export function targetStateOf(state: DistributionState, deviceId: string): TargetState | undefined {
  if (state.status === 'Empty') return undefined;
  const index = state.targetIndex.get(deviceId);
  return index === undefined ? undefined : state.targetStates[index];
}

function withTarget(state: ExistingDistribution, deviceId: string, target: TargetState): ExistingDistribution {
  const index = state.targetIndex.get(deviceId);
  // A target event for a device that is not a target cannot come from a sound stream: skipped.
  if (index === undefined) return state;
  const targetStates = [...state.targetStates];
  const targetCounts = { ...state.targetCounts };
  targetCounts[targetStates[index].status] -= 1;
  targetCounts[target.status] += 1;
  targetStates[index] = target;
  return { ...state, targetStates, targetCounts };
}

export function evolveDistribution(state: DistributionState, event: DistributionEvent): DistributionState {
  const { type, data } = event;
  if (type === 'DistributionCreated') {
    const { createdAt, ...fields } = data;
    return {
      status: 'Created',
      ...fields,
      createdAt,
      targetIndex: new Map(data.targets.map((id, index) => [id, index])),
      targetStates: data.targets.map((): TargetState => ({ status: 'Pending' })),
      targetCounts: { Pending: data.targets.length, Requested: 0, Updated: 0, Failed: 0 },
    };
  }
  // Events before the creation cannot come from a sound stream; they are skipped.
  if (state.status === 'Empty') return state;
  switch (type) {
    case 'DistributionStarted':
      return { ...state, status: 'Running', startedAt: data.at };
    case 'TargetUpdateRequested':
      return withTarget(state, data.deviceId, { status: 'Requested', commandId: data.commandId, wave: data.wave, requestedAt: data.at });
    case 'TargetUpdateSucceeded':
      return withTarget(state, data.deviceId, { status: 'Updated', commandId: data.commandId, swapMs: data.swapMs, at: data.at });
    case 'TargetUpdateFailed':
      return withTarget(state, data.deviceId, { status: 'Failed', commandId: data.commandId, reason: data.reason, at: data.at });
    case 'DistributionSucceeded':
      return { ...state, status: 'Succeeded', finishedAt: data.at };
    case 'DistributionFailed':
      return { ...state, status: 'Failed', finishedAt: data.at, failureReason: data.reason };
    default: {
      // Events of a newer schema are skipped so an older reader can still fold the stream.
      const _unknown: never = type;
      return state;
    }
  }
}

/** Counts for the status view (`progress` of GET /distributions/{id}/status). */
export interface DistributionProgress {
  readonly total: number;
  readonly updated: number;
  readonly failed: number;
  /** Not yet answered: Pending or Requested. */
  readonly pending: number;
  /** Always 0 until rollbacks exist. */
  readonly rolledBack: number;
}

export function distributionProgress(state: DistributionState): DistributionProgress {
  const counts = state.status === 'Empty' ? { Pending: 0, Requested: 0, Updated: 0, Failed: 0 } : state.targetCounts;
  return {
    total: counts.Pending + counts.Requested + counts.Updated + counts.Failed,
    updated: counts.Updated,
    failed: counts.Failed,
    pending: counts.Pending + counts.Requested,
    rolledBack: 0,
  };
}

/** One target as the status view shows it. */
export type TargetView = { readonly deviceId: string } & TargetState;

/** Every target with its state, in rollout order; [] for a distribution that does not exist. */
export function distributionTargets(state: DistributionState): TargetView[] {
  if (state.status === 'Empty') return [];
  return state.targets.map((deviceId, index) => ({ deviceId, ...state.targetStates[index] }));
}

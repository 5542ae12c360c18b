import {
  TARGET_STATUSES,
  type AbTestResultView, type AbTestSpec, type DegradationTrigger, type DeviceCapabilities, type DistributionEvent, type DistributionStatus,
  type ExcludedTarget, type ExecutionPolicy, type MaintenanceWindow, type RollbackPolicy, type Strategy, type SuccessCriteria,
  type TargetFilter, type TargetStatus, type WaveSpec, type WaveView,
} from '@hotswap/contracts';

/** Where one target stands. Fields are kept across transitions (a Failed target keeps its commandId). */
export interface TargetState {
  readonly status: TargetStatus;
  /** 1-based wave the target belongs to (it may move to an A/B test's `winner` wave). */
  readonly wave: number;
  /** Update attempts so far. */
  readonly attempt: number;
  /** Set once the device reported the distribution's model serving: it must be rolled back, if anything is. */
  readonly swapped: boolean;
  /** Its rollback failed: it is not asked again. */
  readonly rollbackFailed?: boolean;
  /** What the device ran before; a rollback returns it there. */
  readonly fromModelId?: string;
  readonly region?: string;
  readonly commandId?: string;
  /** The model this target was last commanded to run. */
  readonly modelId?: string;
  readonly requestedAt?: string;
  readonly swappedAt?: string;
  readonly swapMs?: number;
  readonly retryAt?: string;
  readonly reason?: string;
}

export type WaveStatus = NonNullable<WaveView['status']>;

export interface WaveState {
  readonly status: WaveStatus;
  readonly startedAt?: string;
  readonly observeUntil?: string;
  readonly approvedBy?: string;
}

/** One entry of the operator-readable history. */
export interface HistoryEntry {
  readonly at: string;
  readonly action: string;
  readonly by: string;
  readonly detail?: string;
}

export interface ExistingDistribution {
  readonly status: DistributionStatus;
  readonly distributionId: string;
  readonly modelId: string;
  readonly strategy: Strategy;
  readonly successCriteria: SuccessCriteria;
  readonly rollbackPolicy: RollbackPolicy;
  readonly execution: ExecutionPolicy;
  readonly startAt?: string;
  readonly maintenanceWindows?: readonly MaintenanceWindow[];
  readonly targetFilter?: TargetFilter;
  readonly requirements?: Partial<DeviceCapabilities>;
  readonly abTest?: AbTestSpec;
  readonly rollback?: boolean;
  readonly excluded: readonly ExcludedTarget[];
  readonly createdAt: string;
  readonly waves: readonly WaveSpec[];
  readonly waveStates: readonly WaveState[];
  /** 1-based wave in progress; 0 before the first starts. */
  readonly currentWave: number;
  /** Target ids; `targetStates[i]` belongs to `targets[i]`. Arrays, because evolve copies them per event. */
  readonly targets: readonly string[];
  readonly targetIndex: ReadonlyMap<string, number>;
  readonly targetStates: readonly TargetState[];
  readonly counts: Readonly<Record<TargetStatus, number>>;
  /** Update commands sent so far (retries included): what the rate limit counts. */
  readonly requests: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly reason?: string;
  /** The status a pause interrupted, restored by resume. */
  readonly pausedFrom?: DistributionStatus;
  readonly degradation?: { readonly trigger: DegradationTrigger; readonly detail: string; readonly at: string };
  readonly abResult?: AbTestResultView;
  readonly history: readonly HistoryEntry[];
}

/** The distribution aggregate (stream `distribution-<distributionId>`). */
export type DistributionState = { readonly status: 'Empty' } | ExistingDistribution;

/** Statuses in which a distribution still acts by itself (rolling out, or waiting to). */
export const ACTIVE_DISTRIBUTION_STATUSES: readonly DistributionStatus[] = ['Scheduled', 'PendingApproval', 'Running', 'Paused'];

export function initialDistributionState(): DistributionState {
  return { status: 'Empty' };
}

export function isActive(state: DistributionState): state is ExistingDistribution {
  return state.status !== 'Empty' && ACTIVE_DISTRIBUTION_STATUSES.includes(state.status);
}

const zeroCounts = (): Record<TargetStatus, number> => Object.fromEntries(TARGET_STATUSES.map((s) => [s, 0])) as Record<TargetStatus, number>;

/** The state of one target, or undefined when the device is not a target. */
export function targetStateOf(state: DistributionState, deviceId: string): TargetState | undefined {
  if (state.status === 'Empty') return undefined;
  const index = state.targetIndex.get(deviceId);
  return index === undefined ? undefined : state.targetStates[index];
}

function withTarget(state: ExistingDistribution, deviceId: string, change: (target: TargetState) => TargetState): ExistingDistribution {
  const index = state.targetIndex.get(deviceId);
  // A target event for a device that is not a target cannot come from a sound stream: skipped.
  if (index === undefined) return state;
  const targetStates = [...state.targetStates];
  const before = targetStates[index];
  const after = change(before);
  const counts = { ...state.counts };
  counts[before.status] -= 1;
  counts[after.status] += 1;
  targetStates[index] = after;
  return { ...state, targetStates, counts };
}

function withWave(state: ExistingDistribution, wave: number, change: (wave: WaveState) => WaveState): ExistingDistribution {
  if (wave < 1 || wave > state.waveStates.length) return state;
  const waveStates = [...state.waveStates];
  waveStates[wave - 1] = change(waveStates[wave - 1]);
  return { ...state, waveStates };
}

function noted(state: ExistingDistribution, entry: HistoryEntry): ExistingDistribution {
  return { ...state, history: [...state.history, entry] };
}

/** Ends the wave before `wave` (its observation is over) and makes `wave` the current one. */
function enterWave(state: ExistingDistribution, wave: number, status: WaveStatus, at: string): ExistingDistribution {
  const closed = state.currentWave > 0 && state.currentWave !== wave ? withWave(state, state.currentWave, (w) => ({ ...w, status: 'Done' })) : state;
  return { ...withWave(closed, wave, (w) => ({ ...w, status, ...(status === 'Running' ? { startedAt: at } : {}) })), currentWave: wave };
}

function created(data: Extract<DistributionEvent, { type: 'DistributionCreated' }>['data']): ExistingDistribution {
  const counts = zeroCounts();
  counts.Pending = data.targets.length;
  const waveOf: number[] = [];
  data.waves.forEach((wave, index) => {
    for (let i = 0; i < wave.size; i += 1) waveOf.push(index + 1);
  });
  const { snapshot } = data;
  return {
    status: 'Scheduled',
    distributionId: data.distributionId,
    modelId: data.modelId,
    strategy: data.strategy,
    successCriteria: data.successCriteria,
    rollbackPolicy: data.rollbackPolicy,
    execution: data.execution,
    ...(data.startAt !== undefined ? { startAt: data.startAt } : {}),
    ...(data.maintenanceWindows !== undefined ? { maintenanceWindows: data.maintenanceWindows } : {}),
    ...(data.targetFilter !== undefined ? { targetFilter: data.targetFilter } : {}),
    ...(data.requirements !== undefined ? { requirements: data.requirements } : {}),
    ...(data.abTest !== undefined ? { abTest: data.abTest } : {}),
    ...(data.rollback === true ? { rollback: true } : {}),
    excluded: data.excluded,
    createdAt: data.createdAt,
    waves: data.waves,
    waveStates: data.waves.map((): WaveState => ({ status: 'Waiting' })),
    currentWave: 0,
    targets: data.targets,
    targetIndex: new Map(data.targets.map((id, index) => [id, index])),
    targetStates: data.targets.map((_, i): TargetState => {
      const model = snapshot.model[i] ?? -1;
      const region = snapshot.region[i] ?? -1;
      return {
        status: 'Pending', wave: waveOf[i] ?? data.waves.length, attempt: 0, swapped: false,
        ...(model >= 0 ? { fromModelId: snapshot.modelIds[model] } : {}),
        ...(region >= 0 ? { region: snapshot.regions[region] } : {}),
      };
    }),
    counts,
    requests: 0,
    history: [{ at: data.createdAt, action: 'created', by: 'system:distributor', detail: `${data.strategy} of ${data.modelId} to ${data.targets.length} devices in ${data.waves.length} waves` }],
  };
}

/** The A/B winner's rollout: the losing group's swapped devices move to a new `winner` wave. */
function withWinnerWave(state: ExistingDistribution, result: AbTestResultView): ExistingDistribution {
  const ab = state.abTest;
  if (ab === undefined || result.winner === null || !ab.rolloutWinner) return state;
  const loserGroup = result.winner === 'A' ? 'B' : 'A';
  const winnerModel = result.winner === 'A' ? ab.modelA : ab.modelB;
  const wave = state.waves.length + 1;
  const loserWaves = new Set(state.waves.map((w, i) => (w.group === loserGroup ? i + 1 : 0)).filter((w) => w > 0));
  let next: ExistingDistribution = {
    ...state,
    waves: [...state.waves, { name: 'winner', group: 'winner', modelId: winnerModel, size: 0, observeMs: 0 }],
    waveStates: [...state.waveStates, { status: 'Waiting' }],
  };
  let size = 0;
  state.targets.forEach((deviceId, i) => {
    const target = state.targetStates[i];
    if (!loserWaves.has(target.wave) || target.status !== 'Updated') return;
    size += 1;
    // The device now runs the loser's model: that is where a rollback of the winner wave would return it.
    next = withTarget(next, deviceId, (t) => ({
      status: 'Pending', wave, attempt: 0, swapped: false, ...(t.region !== undefined ? { region: t.region } : {}),
      ...(t.modelId !== undefined ? { fromModelId: t.modelId } : {}),
    }));
  });
  const waves = [...next.waves];
  waves[wave - 1] = { ...waves[wave - 1], size };
  return { ...next, waves };
}

export function evolveDistribution(state: DistributionState, event: DistributionEvent): DistributionState {
  if (event.type === 'DistributionCreated') return created(event.data);
  // Events before the creation cannot come from a sound stream; they are skipped.
  if (state.status === 'Empty') return state;
  const { at } = event.data;
  switch (event.type) {
    case 'DistributionStarted':
      return { ...state, status: 'Running', startedAt: at };
    case 'TargetsAdded': {
      const { deviceIds, wave, fromModelIds, regions } = event.data;
      const fresh = deviceIds.filter((id) => !state.targetIndex.has(id));
      if (fresh.length === 0) return state;
      const targetIndex = new Map(state.targetIndex);
      const targets = [...state.targets];
      const targetStates = [...state.targetStates];
      deviceIds.forEach((deviceId, i) => {
        if (targetIndex.has(deviceId)) return;
        targetIndex.set(deviceId, targets.length);
        targets.push(deviceId);
        const from = fromModelIds[i];
        const region = regions[i];
        targetStates.push({
          status: 'Pending', wave, attempt: 0, swapped: false,
          ...(from !== null && from !== undefined ? { fromModelId: from } : {}), ...(region !== null && region !== undefined ? { region } : {}),
        });
      });
      const waves = state.waves.map((w, i) => (i === wave - 1 ? { ...w, size: w.size + fresh.length } : w));
      return { ...state, targets, targetIndex, targetStates, waves, counts: { ...state.counts, Pending: state.counts.Pending + fresh.length } };
    }
    case 'WaveStarted':
      return enterWave(state, event.data.wave, 'Running', at);
    case 'ApprovalRequested':
      return { ...enterWave(state, event.data.wave, 'AwaitingApproval', at), status: 'PendingApproval' };
    case 'DistributionApproved':
      return noted(
        { ...withWave(state, event.data.wave, (w) => ({ ...w, status: 'Waiting', approvedBy: event.data.by })), status: 'Running' },
        { at, action: 'approved', by: event.data.by, detail: `wave ${event.data.wave} (${state.waves[event.data.wave - 1]?.name ?? '?'})` },
      );
    case 'WaveCompleted':
      return withWave(state, event.data.wave, (w) => ({ ...w, status: 'Observing', observeUntil: event.data.observeUntil }));
    case 'DistributionPromoted':
      return noted(withWave(state, event.data.wave, (w) => ({ ...w, observeUntil: at })), { at, action: 'promoted', by: event.data.by, detail: `wave ${event.data.wave}` });
    case 'DistributionPaused':
      return noted(
        { ...state, status: 'Paused', pausedFrom: state.status === 'Paused' ? state.pausedFrom : state.status, reason: event.data.reason },
        { at, action: 'paused', by: event.data.by, detail: event.data.reason },
      );
    case 'DistributionResumed': {
      const { pausedFrom: _dropped, ...rest } = state;
      return noted({ ...rest, status: state.pausedFrom ?? 'Running' }, { at, action: 'resumed', by: event.data.by });
    }
    case 'DistributionTakenOver':
      return noted(state, { at, action: 'taken over', by: event.data.to, detail: `from ${event.data.from}: ${event.data.reason}` });
    case 'DistributionCancelled':
      return noted({ ...state, status: 'Cancelled', finishedAt: at, reason: event.data.reason }, { at, action: 'cancelled', by: event.data.by, detail: event.data.reason });
    case 'TargetUpdateRequested': {
      const { deviceId, commandId, modelId, attempt, wave } = event.data;
      const next = withTarget(state, deviceId, (t) => {
        const { retryAt: _r, reason: _x, ...kept } = t;
        return { ...kept, status: 'Requested', commandId, modelId, attempt, wave, requestedAt: at };
      });
      return { ...next, requests: state.requests + 1 };
    }
    case 'TargetSwapped':
      return withTarget(state, event.data.deviceId, (t) => ({ ...t, status: 'Verifying', swapped: true, swappedAt: at, swapMs: event.data.swapMs }));
    case 'TargetUpdateSucceeded':
      return withTarget(state, event.data.deviceId, (t) => ({ ...t, status: 'Updated' }));
    case 'TargetUpdateFailed': {
      const { retryAt, reason } = event.data;
      return withTarget(state, event.data.deviceId, (t) => {
        const { retryAt: _r, ...kept } = t;
        return { ...kept, status: retryAt === undefined ? 'Failed' : 'Retrying', reason, ...(retryAt !== undefined ? { retryAt } : {}) };
      });
    }
    case 'DegradationDetected': {
      const { trigger, detail, by } = event.data;
      return noted({ ...state, degradation: { trigger, detail, at } }, { at, action: 'degradation detected', by, detail });
    }
    case 'RollbackStarted':
      return noted({ ...state, status: 'RollingBack', reason: event.data.reason }, { at, action: 'rollback started', by: event.data.by, detail: event.data.reason });
    case 'TargetRollbackRequested':
      return withTarget(state, event.data.deviceId, (t) => ({ ...t, status: 'RollingBack', commandId: event.data.commandId, modelId: event.data.toModelId, requestedAt: at }));
    case 'TargetRolledBack':
      return withTarget(state, event.data.deviceId, (t) => ({ ...t, status: 'RolledBack', swapped: false }));
    case 'TargetRollbackFailed':
      return withTarget(state, event.data.deviceId, (t) => ({ ...t, status: 'Failed', rollbackFailed: true, reason: `rollback failed: ${event.data.reason}` }));
    case 'DistributionRolledBack':
      return noted(
        { ...state, status: 'RolledBack', finishedAt: at },
        { at, action: 'rolled back', by: 'system:distributor', detail: `${event.data.rolledBack} devices rolled back, ${event.data.failed} failed` },
      );
    case 'AbTestConcluded': {
      const { distributionId: _d, at: _a, ...result } = event.data;
      return noted(withWinnerWave({ ...state, abResult: result }, result), { at, action: 'A/B test concluded', by: 'system:monitor', detail: result.detail });
    }
    case 'DistributionSucceeded':
      return noted({ ...state, status: 'Succeeded', finishedAt: at }, { at, action: 'succeeded', by: 'system:distributor', detail: `${event.data.updated} devices updated` });
    case 'DistributionFailed':
      return noted({ ...state, status: 'Failed', finishedAt: at, reason: event.data.reason }, { at, action: 'failed', by: 'system:distributor', detail: event.data.reason });
    default: {
      // Events of a newer schema are skipped so an older reader can still fold the stream.
      const _unknown: never = event;
      return state;
    }
  }
}

/** Counts for the status view (`progress` of GET /distributions/{id}/status). */
export interface DistributionProgress {
  readonly total: number;
  readonly updated: number;
  readonly failed: number;
  readonly pending: number;
  readonly rolledBack: number;
}

export function distributionProgress(state: DistributionState): DistributionProgress {
  if (state.status === 'Empty') return { total: 0, updated: 0, failed: 0, pending: 0, rolledBack: 0 };
  const c = state.counts;
  return {
    total: state.targets.length,
    updated: c.Updated,
    failed: c.Failed,
    pending: c.Pending + c.Requested + c.Verifying + c.Retrying + c.RollingBack,
    rolledBack: c.RolledBack,
  };
}

/** One target as the status view shows it. */
export type TargetView = { readonly deviceId: string } & TargetState;

/** Every target with its state; [] for a distribution that does not exist. */
export function distributionTargets(state: DistributionState): TargetView[] {
  if (state.status === 'Empty') return [];
  return state.targets.map((deviceId, index) => ({ deviceId, ...state.targetStates[index] }));
}

/** The waves with their status and counts, for the status view and the dry run. */
export function distributionWaves(state: ExistingDistribution): WaveView[] {
  const updated = state.waves.map(() => 0);
  const failed = state.waves.map(() => 0);
  for (const target of state.targetStates) {
    if (target.status === 'Updated') updated[target.wave - 1] += 1;
    if (target.status === 'Failed') failed[target.wave - 1] += 1;
  }
  return state.waves.map((wave, i) => ({
    wave: i + 1, name: wave.name, group: wave.group, modelId: wave.modelId, size: wave.size, observeMs: wave.observeMs,
    ...(wave.approval !== undefined ? { approval: wave.approval } : {}),
    status: state.waveStates[i].status, updated: updated[i], failed: failed[i],
  }));
}

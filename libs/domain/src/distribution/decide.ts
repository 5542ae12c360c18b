import {
  DEGRADATION_TRIGGERS, DISTRIBUTION_VERBS, ROLLBACK_POLICIES,
  type AbTestResultView, type DegradationDetected, type DistributionEvent, type DistributionVerb, type TargetFilter, type TargetSnapshot,
  type TransportChoice,
} from '@hotswap/contracts';
import { unknownCommand, type Command, type Decider } from '../decider.js';
import { AlreadyExistsError, IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import { insideMaintenanceWindow, planDistribution, requestAllowance, unmetRequirement } from '../rollout/plan-distribution.js';
import { fleetDevice, type FleetSnapshot, type PlanRequest } from '../rollout/planner.js';
import { addMs, epochMs } from '../time.js';
import { forcedArtifactTransport } from '../transfer/artifact-transport.js';
import { requireNonNegativeNumber, requireOneOf, requireText, requireTimestamp, show } from '../validation.js';
import {
  evolveDistribution, initialDistributionState, isActive, type DistributionState, type ExistingDistribution, type TargetState,
} from './distribution.js';

export type CreateDistribution = Command<'CreateDistribution', {
  readonly distributionId: string;
  /** The request with the resolved targets and the fleet they were read from. */
  readonly plan: PlanRequest;
  readonly rollbackPolicy: (typeof ROLLBACK_POLICIES)[number];
  readonly targetFilter?: TargetFilter;
  /** A rollback to an older version (devices then need a signed rollback instruction). */
  readonly rollback?: boolean;
  /** The request's artifact transport; `auto` or none lets each device's capability decide. */
  readonly transport?: TransportChoice;
}>;

/** A device's figures since its swap, for its health window (the monitor's `get-target-health`). */
export interface TargetHealth {
  readonly samples: number;
  readonly errors: number;
  readonly latencyP99Ms: number | null;
  readonly accuracy: number | null;
  readonly labelled: number;
}

/**
 * Moves the distribution on at `metadata.now`: starts it when scheduled, times out and retries
 * devices, verifies health windows, opens and closes waves, requests devices within the pacing
 * limits, concludes an A/B test, finishes. `health` and `abResult` are what `advanceInputs` asked for.
 */
export type AdvanceDistribution = Command<'AdvanceDistribution', {
  readonly distributionId: string;
  readonly health?: Readonly<Record<string, TargetHealth>>;
  readonly abResult?: AbTestResultView;
  /**
   * Share (0..1] of the request allowance to use now: a saturated distributor passes less than 1
   * (`assessSaturation`), which scales `maxInFlight` and the devices commanded per decision.
   */
  readonly throttle?: number;
}>;

/** A target device reported the outcome of the command `commandId` (an update or a rollback). */
export type RecordTargetResult = Command<'RecordTargetResult', {
  readonly distributionId: string;
  readonly deviceId: string;
  readonly commandId: string;
  readonly outcome: 'swapped' | 'failed';
  /** Required when swapped. */
  readonly swapMs?: number;
  /** Required when failed. */
  readonly reason?: string;
}>;

export type ControlDistribution = Command<'ControlDistribution', {
  readonly distributionId: string;
  readonly verb: DistributionVerb;
  readonly by: string;
  readonly reason?: string;
}>;

/** The fields of the DegradationDetected event it records, but for its time (`metadata.now`). */
export type ReportDegradation = Command<'ReportDegradation', Omit<DegradationDetected['data'], 'at'>>;

/** Devices that joined the targeted group while the distribution runs. */
export type AddTargets = Command<'AddTargets', {
  readonly distributionId: string;
  readonly deviceIds: readonly string[];
  readonly fleet: FleetSnapshot;
}>;

/**
 * A distributor instance claimed the distribution after its owner `from` fell silent for the
 * ownership lease; recorded by the new owner `to`, so the stream shows who drives the rollout.
 */
export type RecordTakeover = Command<'RecordTakeover', {
  readonly distributionId: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}>;

export type DistributionCommand =
  | CreateDistribution | AdvanceDistribution | RecordTargetResult | ControlDistribution | ReportDegradation | AddTargets | RecordTakeover;

/** At most this many devices are commanded by one decision, so that one commit stays well below NATS's 1 MB payload. */
export const MAX_REQUESTS_PER_DECISION = 500;
/** At most this many failed devices are named in a failure reason; the rest are counted. */
const MAX_NAMED = 10;

/** The command id of attempt `attempt` for target number `index` (deterministic: the decider has no randomness). */
export const updateCommandId = (distributionId: string, index: number, attempt: number) => `${distributionId}/${index}/${attempt}`;
export const rollbackCommandId = (distributionId: string, index: number) => `${distributionId}/${index}/rollback`;

function existing(state: DistributionState, distributionId: string): ExistingDistribution {
  if (state.status === 'Empty') throw new NotFoundError(`distribution ${distributionId} does not exist`);
  return state;
}

// ── create ───────────────────────────────────────────────────────────────────

function snapshotOf(targets: readonly string[], fleet: FleetSnapshot): TargetSnapshot {
  const modelIds: string[] = [];
  const regions: string[] = [];
  const indexIn = (list: string[], value: string | undefined) => {
    if (value === undefined) return -1;
    let i = list.indexOf(value);
    if (i < 0) i = list.push(value) - 1;
    return i;
  };
  const model: number[] = [];
  const region: number[] = [];
  for (const id of targets) {
    const device = fleetDevice(fleet, id);
    model.push(indexIn(modelIds, device?.currentModelId));
    region.push(indexIn(regions, device?.region));
  }
  return { modelIds, regions, model, region };
}

function createDistribution({ data, metadata }: CreateDistribution, state: DistributionState): DistributionEvent[] {
  if (state.status !== 'Empty') throw new AlreadyExistsError(`distribution ${data.distributionId} already exists`);
  const distributionId = requireText('distribution', 'distributionId', data.distributionId);
  const createdAt = requireTimestamp(`distribution ${distributionId}`, 'metadata.now', metadata.now);
  const rollbackPolicy = requireOneOf(`distribution ${distributionId}`, 'rollbackPolicy', data.rollbackPolicy, ROLLBACK_POLICIES);
  const transport = forcedArtifactTransport(`distribution ${distributionId}`, data.transport);
  const plan = planDistribution(data.plan);
  const targets = plan.waves.flatMap((wave) => wave.deviceIds);
  const { plan: request } = data;
  const events: DistributionEvent[] = [{
    type: 'DistributionCreated',
    data: {
      distributionId,
      modelId: plan.modelId,
      strategy: plan.strategy,
      targets,
      waves: plan.waves.map(({ deviceIds, ...wave }) => ({ ...wave, size: deviceIds.length })),
      excluded: plan.excluded,
      successCriteria: request.successCriteria ?? {},
      rollbackPolicy,
      execution: request.execution,
      ...(request.startAt !== undefined ? { startAt: request.startAt } : {}),
      ...(request.maintenanceWindows !== undefined && request.maintenanceWindows.length > 0 ? { maintenanceWindows: request.maintenanceWindows } : {}),
      snapshot: snapshotOf(targets, request.fleet),
      ...(request.requirements !== undefined ? { requirements: request.requirements } : {}),
      ...(data.targetFilter !== undefined ? { targetFilter: data.targetFilter } : {}),
      ...(plan.abTest !== undefined ? { abTest: plan.abTest } : {}),
      ...(data.rollback === true ? { rollback: true } : {}),
      ...(transport !== undefined ? { transport } : {}),
      createdAt,
    },
  }];
  if (request.startAt === undefined || epochMs(request.startAt) <= epochMs(createdAt)) {
    events.push({ type: 'DistributionStarted', data: { distributionId, at: createdAt } });
  }
  return events;
}

// ── advance ──────────────────────────────────────────────────────────────────

/** Collects events and keeps the state they lead to, so each step sees the ones before it. */
class Decision {
  readonly events: DistributionEvent[] = [];
  /** `AdvanceDistribution`'s throttle: the share of the request allowance this decision may use. */
  throttle = 1;
  constructor(public state: ExistingDistribution) {}
  emit(event: DistributionEvent): void {
    this.events.push(event);
    this.state = evolveDistribution(this.state, event) as ExistingDistribution;
  }
}

/** What `AdvanceDistribution` needs from the monitor now: health figures of devices whose window ended, an A/B result. */
export interface AdvanceInputs {
  readonly health: ReadonlyArray<{ readonly deviceId: string; readonly modelId: string; readonly since: string }>;
  readonly abResult: boolean;
}

export function advanceInputs(state: DistributionState, now: string): AdvanceInputs {
  if (state.status === 'Empty' || !['Running', 'Paused', 'PendingApproval'].includes(state.status)) return { health: [], abResult: false };
  const nowMs = epochMs(now);
  const health: { deviceId: string; modelId: string; since: string }[] = [];
  state.targetStates.forEach((t, i) => {
    if (t.status === 'Verifying' && t.swappedAt !== undefined && epochMs(t.swappedAt) + state.execution.healthWindowMs <= nowMs) {
      health.push({ deviceId: state.targets[i], modelId: t.modelId ?? state.modelId, since: t.swappedAt });
    }
  });
  return { health, abResult: awaitsAbResult(state, nowMs) };
}

function awaitsAbResult(state: ExistingDistribution, nowMs: number): boolean {
  if (state.abTest === undefined || state.abResult !== undefined || state.status !== 'Running') return false;
  const wave = state.currentWave;
  const current = state.waveStates[wave - 1];
  return state.waves[wave - 1]?.group === 'B' && current?.status === 'Observing' && epochMs(current.observeUntil ?? '') <= nowMs;
}

function timeOutRequests(d: Decision, now: string): void {
  const { execution, distributionId } = d.state;
  const nowMs = epochMs(now);
  d.state.targetStates.forEach((t, i) => {
    if ((t.status !== 'Requested' && t.status !== 'RollingBack') || t.requestedAt === undefined) return;
    if (epochMs(t.requestedAt) + execution.deviceTimeoutMs > nowMs) return;
    const deviceId = d.state.targets[i];
    const reason = `no report within ${execution.deviceTimeoutMs} ms of the command`;
    if (t.status === 'RollingBack') {
      d.emit({ type: 'TargetRollbackFailed', data: { distributionId, deviceId, commandId: t.commandId ?? '', reason, at: now } });
    } else {
      d.emit(failure(d.state, deviceId, t, reason, now, true));
    }
  });
}

function failure(state: ExistingDistribution, deviceId: string, t: TargetState, reason: string, now: string, retryable: boolean): DistributionEvent {
  const { maxRetries, retryBackoffMs } = state.execution;
  const retry = retryable && t.attempt <= maxRetries && isActive(state);
  return {
    type: 'TargetUpdateFailed',
    data: {
      distributionId: state.distributionId, deviceId, commandId: t.commandId ?? '', reason, attempt: t.attempt,
      ...(retry ? { retryAt: addMs(now, retryBackoffMs * 2 ** (t.attempt - 1)) } : {}),
      at: now,
    },
  };
}

/** Judges devices whose health window ended; returns the first violation, if any. */
function verifyHealth(d: Decision, health: AdvanceDistribution['data']['health'], now: string): string | undefined {
  const { execution, successCriteria, distributionId } = d.state;
  const nowMs = epochMs(now);
  let violation: string | undefined;
  d.state.targetStates.forEach((t, i) => {
    if (t.status !== 'Verifying' || t.swappedAt === undefined) return;
    const windowEnd = epochMs(t.swappedAt) + execution.healthWindowMs;
    if (windowEnd > nowMs) return;
    const deviceId = d.state.targets[i];
    const h = health !== undefined && Object.hasOwn(health, deviceId) ? health[deviceId] : undefined;
    if (h === undefined) return;
    if (h.samples < execution.minHealthSamples) {
      if (windowEnd + execution.deviceTimeoutMs <= nowMs) {
        d.emit(failure(d.state, deviceId, t, `not verified: ${h.samples} inferences reported after the swap, ${execution.minHealthSamples} needed`, now, false));
      }
      return;
    }
    const errorRate = h.samples > 0 ? h.errors / h.samples : 0;
    const problems: string[] = [];
    if (successCriteria.maxErrorRate !== undefined && errorRate > successCriteria.maxErrorRate) {
      problems.push(`error rate ${round(errorRate * 100)}% above maxErrorRate ${round(successCriteria.maxErrorRate * 100)}%`);
    }
    if (successCriteria.maxLatencyMs !== undefined && h.latencyP99Ms !== null && h.latencyP99Ms > successCriteria.maxLatencyMs) {
      problems.push(`p99 latency ${round(h.latencyP99Ms)} ms above maxLatencyMs ${successCriteria.maxLatencyMs}`);
    }
    if (successCriteria.minAccuracy !== undefined && h.accuracy !== null && h.labelled > 0 && h.accuracy < successCriteria.minAccuracy) {
      problems.push(`accuracy ${round(h.accuracy * 100)}% below minAccuracy ${round(successCriteria.minAccuracy * 100)}%`);
    }
    if (problems.length > 0) {
      const reason = `health window failed: ${problems.join('; ')} (${h.samples} inferences)`;
      d.emit(failure(d.state, deviceId, t, reason, now, false));
      violation ??= `device ${deviceId}: ${reason}`;
      return;
    }
    d.emit({
      type: 'TargetUpdateSucceeded',
      data: {
        distributionId, deviceId, commandId: t.commandId ?? '', swapMs: t.swapMs ?? 0,
        health: { samples: h.samples, errorRate, latencyP99Ms: h.latencyP99Ms }, at: now,
      },
    });
  });
  return violation;
}

const round = (n: number) => Math.round(n * 10) / 10;

/** What a degradation does under the distribution's policy. */
function react(d: Decision, by: string, reason: string, now: string): void {
  const { distributionId, rollbackPolicy, status } = d.state;
  if (rollbackPolicy === 'Automatic') d.emit({ type: 'RollbackStarted', data: { distributionId, by, reason, at: now } });
  else if (rollbackPolicy === 'Freeze' && status !== 'Paused') d.emit({ type: 'DistributionPaused', data: { distributionId, by, reason, at: now } });
}

function requestTargets(d: Decision, wave: number, now: string): void {
  const s = d.state;
  const nowMs = epochMs(now);
  const inFlight = s.counts.Requested + s.counts.Verifying;
  const allowance = requestAllowance(s.execution, nowMs - epochMs(s.startedAt ?? now));
  // A throttle below 1 scales the in-flight cap and the per-decision cap, never below one device.
  const throttled = (limit: number) => Math.max(1, Math.ceil(limit * d.throttle));
  let budget = Math.min(throttled(s.execution.maxInFlight) - inFlight, allowance - s.requests, throttled(MAX_REQUESTS_PER_DECISION));
  const spec = s.waves[wave - 1];
  for (let i = 0; i < s.targets.length && budget > 0; i += 1) {
    const t = s.targetStates[i];
    if (t.wave !== wave) continue;
    const due = t.status === 'Pending' || (t.status === 'Retrying' && epochMs(t.retryAt ?? now) <= nowMs);
    if (!due || !insideMaintenanceWindow(s.maintenanceWindows, t.region, now)) continue;
    const attempt = t.attempt + 1;
    d.emit({
      type: 'TargetUpdateRequested',
      data: {
        distributionId: s.distributionId, deviceId: s.targets[i], commandId: updateCommandId(s.distributionId, i, attempt), wave,
        modelId: spec.modelId, attempt, ...(t.fromModelId !== undefined ? { fromModelId: t.fromModelId } : {}), at: now,
      },
    });
    budget -= 1;
  }
}

function failureReason(s: ExistingDistribution): string {
  const failed = s.targets.filter((_, i) => s.targetStates[i].status === 'Failed');
  const named = failed.slice(0, MAX_NAMED).map((id) => `${id} (${s.targetStates[s.targetIndex.get(id) ?? 0].reason ?? 'failed'})`).join(', ');
  const more = failed.length > MAX_NAMED ? ` and ${failed.length - MAX_NAMED} more` : '';
  return `${failed.length} of ${s.targets.length} targets failed to update, above maxFailurePercentage ${s.execution.maxFailurePercentage}%: ${named}${more}`;
}

function startWave(d: Decision, wave: number, now: string): void {
  const { distributionId } = d.state;
  const spec = d.state.waves[wave - 1];
  if (spec.approval !== undefined && d.state.waveStates[wave - 1].approvedBy === undefined) {
    d.emit({ type: 'ApprovalRequested', data: { distributionId, wave, reason: spec.approval, at: now } });
  } else {
    d.emit({ type: 'WaveStarted', data: { distributionId, wave, at: now } });
  }
}

/** Opens, runs and closes waves while the distribution is Running. */
function progressWaves(d: Decision, abResult: AbTestResultView | undefined, now: string): void {
  const nowMs = epochMs(now);
  // Each pass moves at most one wave one step; the bound only guards against a planning bug.
  for (let pass = 0; pass < 4 * d.state.waves.length + 4 && d.state.status === 'Running'; pass += 1) {
    const s = d.state;
    const wave = s.currentWave;
    if (wave === 0) {
      startWave(d, 1, now);
      continue;
    }
    const current = s.waveStates[wave - 1];
    if (current.status === 'Waiting') {
      // Approved since it was requested.
      d.emit({ type: 'WaveStarted', data: { distributionId: s.distributionId, wave, at: now } });
      continue;
    }
    if (current.status === 'Running') {
      // Too many failures stop the rollout at once rather than at the end of a large wave.
      const failed = s.counts.Failed;
      if (failed > 0 && (failed * 100) / s.targets.length > s.execution.maxFailurePercentage) {
        d.emit({ type: 'DistributionFailed', data: { distributionId: s.distributionId, reason: failureReason(s), updated: s.counts.Updated, failed, at: now } });
        return;
      }
      requestTargets(d, wave, now);
      const open = d.state.targetStates.some((t) => t.wave === wave && !['Updated', 'Failed', 'RolledBack'].includes(t.status));
      if (open) return;
      const inWave = d.state.targetStates.filter((t) => t.wave === wave);
      d.emit({
        type: 'WaveCompleted',
        data: {
          distributionId: s.distributionId, wave, updated: inWave.filter((t) => t.status === 'Updated').length,
          failed: inWave.filter((t) => t.status === 'Failed').length, observeUntil: addMs(now, s.waves[wave - 1].observeMs), at: now,
        },
      });
      continue;
    }
    if (current.status === 'Observing') {
      if (epochMs(current.observeUntil ?? now) > nowMs) return;
      if (awaitsAbResult(s, nowMs)) {
        if (abResult === undefined) return;
        d.emit({ type: 'AbTestConcluded', data: { distributionId: s.distributionId, ...abResult, at: now } });
        continue;
      }
      if (wave >= d.state.waves.length) {
        d.emit({ type: 'DistributionSucceeded', data: { distributionId: s.distributionId, updated: d.state.counts.Updated, at: now } });
        return;
      }
      startWave(d, wave + 1, now);
      continue;
    }
    return; // AwaitingApproval (the status is then PendingApproval) or Done
  }
}

/** Whether a target runs this distribution's model and should go back to what it ran before. */
function owesRollback(t: TargetState): boolean {
  return t.swapped && t.rollbackFailed !== true && t.status !== 'RolledBack' && t.fromModelId !== undefined && t.fromModelId !== t.modelId;
}

/** Sends the devices running the new model back to what they ran before, then finishes. */
function rollBack(d: Decision, now: string): void {
  const s = d.state;
  let budget = MAX_REQUESTS_PER_DECISION;
  for (let i = 0; i < s.targets.length && budget > 0; i += 1) {
    const t = s.targetStates[i];
    // A device still answering its update command is rolled back once it reports.
    if (!owesRollback(t) || t.status === 'RollingBack' || t.status === 'Requested') continue;
    d.emit({
      type: 'TargetRollbackRequested',
      data: { distributionId: s.distributionId, deviceId: s.targets[i], commandId: rollbackCommandId(s.distributionId, i), toModelId: t.fromModelId as string, at: now },
    });
    budget -= 1;
  }
  const waiting = d.state.targetStates.some((t) => t.status === 'Requested' || t.status === 'RollingBack' || owesRollback(t));
  if (waiting) return;
  const rolledBack = d.state.counts.RolledBack;
  const failed = d.state.targetStates.filter((t) => t.rollbackFailed === true).length;
  d.emit({ type: 'DistributionRolledBack', data: { distributionId: s.distributionId, rolledBack, failed, at: now } });
}

function advance({ data, metadata }: AdvanceDistribution, state: DistributionState): DistributionEvent[] {
  const distribution = existing(state, data.distributionId);
  const now = requireTimestamp(`distribution ${data.distributionId}`, 'metadata.now', metadata.now);
  const d = new Decision(distribution);
  if (data.throttle !== undefined) {
    if (typeof data.throttle !== 'number' || !(data.throttle > 0 && data.throttle <= 1)) {
      throw new InvalidCommandError(`distribution ${data.distributionId}: throttle must be a number in (0, 1], got ${show(data.throttle)}`);
    }
    d.throttle = data.throttle;
  }
  switch (distribution.status) {
    case 'Scheduled':
      if (distribution.startAt === undefined || epochMs(distribution.startAt) <= epochMs(now)) {
        d.emit({ type: 'DistributionStarted', data: { distributionId: distribution.distributionId, at: now } });
        progressWaves(d, data.abResult, now);
      }
      break;
    case 'Running':
    case 'Paused':
    case 'PendingApproval': {
      timeOutRequests(d, now);
      const violation = verifyHealth(d, data.health, now);
      if (violation !== undefined && d.state.degradation === undefined) {
        d.emit({
          type: 'DegradationDetected',
          data: { distributionId: distribution.distributionId, trigger: 'health', detail: violation, by: 'system:distributor', at: now },
        });
        react(d, 'system:distributor', violation, now);
      }
      if (d.state.status === 'Running') progressWaves(d, data.abResult, now);
      if (d.state.status === 'RollingBack') rollBack(d, now);
      break;
    }
    case 'RollingBack':
      timeOutRequests(d, now);
      rollBack(d, now);
      break;
    default:
      break;
  }
  return d.events;
}

// ── device results ───────────────────────────────────────────────────────────

function recordTargetResult({ data, metadata }: RecordTargetResult, state: DistributionState): DistributionEvent[] {
  const distribution = existing(state, data.distributionId);
  const subject = `distribution ${data.distributionId}, device ${data.deviceId}`;
  const index = distribution.targetIndex.get(data.deviceId);
  if (index === undefined) throw new InvalidCommandError(`${subject}: the device is not a target`);
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const commandId = requireText(subject, 'commandId', data.commandId);
  if (data.outcome !== 'swapped' && data.outcome !== 'failed') {
    throw new InvalidCommandError(`${subject}: outcome must be swapped or failed, got ${show(data.outcome)}`);
  }
  const swapMs = data.outcome === 'swapped' ? requireNonNegativeNumber(subject, 'swapMs', data.swapMs) : 0;
  const reason = data.outcome === 'failed' ? requireText(subject, 'reason', data.reason) : '';
  const target = distribution.targetStates[index];
  const { distributionId, deviceId } = data;
  // Late, repeated and stale replies are expected from an at-least-once device plane: ignored.
  if (target.commandId !== commandId || distribution.status === 'RolledBack') return [];
  if (target.status === 'RollingBack') {
    return [data.outcome === 'swapped'
      ? { type: 'TargetRolledBack', data: { distributionId, deviceId, commandId, at } }
      : { type: 'TargetRollbackFailed', data: { distributionId, deviceId, commandId, reason, at } }];
  }
  if (target.status !== 'Requested') return [];
  if (data.outcome === 'failed') return [failure(distribution, deviceId, target, reason, at, true)];
  const swapped: DistributionEvent = { type: 'TargetSwapped', data: { distributionId, deviceId, commandId, swapMs, at } };
  if (distribution.execution.healthWindowMs > 0) return [swapped];
  // No health window: the swap report is the verification.
  return [swapped, {
    type: 'TargetUpdateSucceeded',
    data: { distributionId, deviceId, commandId, swapMs, health: { samples: 0, errorRate: 0, latencyP99Ms: null }, at },
  }];
}

// ── operators and the monitor ────────────────────────────────────────────────

function control({ data, metadata }: ControlDistribution, state: DistributionState): DistributionEvent[] {
  const s = existing(state, data.distributionId);
  const subject = `distribution ${data.distributionId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const verb = requireOneOf(subject, 'verb', data.verb, DISTRIBUTION_VERBS);
  const by = requireText(subject, 'by', data.by);
  const { distributionId } = data;
  const refuse = (why: string): never => {
    throw new IllegalStateError(`${subject} is ${s.status}; ${why}`);
  };
  switch (verb) {
    case 'pause':
      if (s.status === 'Paused') return [];
      if (!['Scheduled', 'Running', 'PendingApproval'].includes(s.status)) refuse('only a Scheduled, Running or PendingApproval distribution can be paused');
      return [{ type: 'DistributionPaused', data: { distributionId, by, reason: data.reason ?? 'paused by an operator', at } }];
    case 'resume':
      if (s.status !== 'Paused') refuse('only a Paused distribution can be resumed');
      return [{ type: 'DistributionResumed', data: { distributionId, by, at } }];
    case 'approve':
      if (s.status !== 'PendingApproval') refuse('no wave is waiting for approval');
      return [{ type: 'DistributionApproved', data: { distributionId, wave: s.currentWave, by, at } }];
    case 'promote': {
      const wave = s.waveStates[s.currentWave - 1];
      if (s.status === 'PendingApproval') return [{ type: 'DistributionApproved', data: { distributionId, wave: s.currentWave, by, at } }];
      if (!isActive(s) || wave?.status !== 'Observing') refuse('promote ends the observation of a wave, and no wave is being observed');
      return [{ type: 'DistributionPromoted', data: { distributionId, wave: s.currentWave, by, at } }];
    }
    case 'cancel':
      if (!isActive(s)) refuse('only an active distribution can be cancelled');
      return [{ type: 'DistributionCancelled', data: { distributionId, by, reason: data.reason ?? 'cancelled by an operator', at } }];
    case 'rollback': {
      if (s.status === 'RollingBack' || s.status === 'RolledBack') refuse('it is already rolled back or rolling back');
      const reason = data.reason ?? 'rollback requested by an operator';
      return [
        ...(isActive(s) && s.degradation === undefined
          ? [{ type: 'DegradationDetected', data: { distributionId, trigger: 'manual', detail: reason, by, at } } as DistributionEvent]
          : []),
        { type: 'RollbackStarted', data: { distributionId, by, reason, at } },
      ];
    }
    default:
      return unknownCommand(verb);
  }
}

function reportDegradation({ data, metadata }: ReportDegradation, state: DistributionState): DistributionEvent[] {
  const s = existing(state, data.distributionId);
  const subject = `distribution ${data.distributionId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const trigger = requireOneOf(subject, 'trigger', data.trigger, DEGRADATION_TRIGGERS);
  const detail = requireText(subject, 'detail', data.detail);
  const by = requireText(subject, 'by', data.by);
  // Reported once; after a rollback or the end, further reports change nothing.
  if (!isActive(s) || s.degradation !== undefined) return [];
  const optional = Object.fromEntries(
    (['group', 'modelId', 'baseline', 'observed', 'threshold', 'samples'] as const).filter((k) => data[k] !== undefined).map((k) => [k, data[k]]),
  );
  const d = new Decision(s);
  d.emit({ type: 'DegradationDetected', data: { distributionId: s.distributionId, trigger, detail, by, ...optional, at } });
  react(d, by, detail, at);
  return d.events;
}

/** The wave a device joining the targeted group goes to, or undefined when the rollout is past taking it. */
function waveForNewTarget(s: ExistingDistribution, region: string | undefined): number | undefined {
  if (s.strategy === 'ABTesting') return undefined; // joining would change the groups under test
  const open = (wave: number) => ['Waiting', 'AwaitingApproval', 'Running'].includes(s.waveStates[wave - 1]?.status ?? '');
  if (s.strategy === 'RegionalRollout') {
    const regional = s.waves.findIndex((w) => w.group === region) + 1;
    return regional > 0 && open(regional) ? regional : undefined;
  }
  const last = s.waves.length;
  if (open(last)) return last;
  return undefined;
}

function addTargets({ data, metadata }: AddTargets, state: DistributionState): DistributionEvent[] {
  const s = existing(state, data.distributionId);
  const at = requireTimestamp(`distribution ${data.distributionId}`, 'metadata.now', metadata.now);
  if (!isActive(s)) return [];
  const byWave = new Map<number, string[]>();
  for (const deviceId of data.deviceIds) {
    if (s.targetIndex.has(deviceId)) continue;
    const device = fleetDevice(data.fleet, deviceId);
    if (unmetRequirement(device, s.requirements) !== undefined) continue;
    const wave = waveForNewTarget(s, device?.region);
    if (wave !== undefined) byWave.set(wave, [...(byWave.get(wave) ?? []), deviceId]);
  }
  return [...byWave].map(([wave, deviceIds]): DistributionEvent => ({
    type: 'TargetsAdded',
    data: {
      distributionId: s.distributionId, deviceIds, wave,
      fromModelIds: deviceIds.map((id) => fleetDevice(data.fleet, id)?.currentModelId ?? null),
      regions: deviceIds.map((id) => fleetDevice(data.fleet, id)?.region ?? null),
      at,
    },
  }));
}

function recordTakeover({ data, metadata }: RecordTakeover, state: DistributionState): DistributionEvent[] {
  const s = existing(state, data.distributionId);
  const subject = `distribution ${data.distributionId}`;
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  const from = requireText(subject, 'from', data.from);
  const to = requireText(subject, 'to', data.to);
  const reason = requireText(subject, 'reason', data.reason);
  if (from === to) throw new InvalidCommandError(`${subject}: an instance cannot take over from itself (from and to are both ${show(from)})`);
  // A finished distribution is driven by nobody: claiming it changes nothing worth recording.
  if (!isActive(s)) return [];
  return [{ type: 'DistributionTakenOver', data: { distributionId: s.distributionId, from, to, reason, at } }];
}

export function decideDistribution(command: DistributionCommand, state: DistributionState): DistributionEvent[] {
  switch (command.type) {
    case 'CreateDistribution':
      return createDistribution(command, state);
    case 'AdvanceDistribution':
      return advance(command, state);
    case 'RecordTargetResult':
      return recordTargetResult(command, state);
    case 'ControlDistribution':
      return control(command, state);
    case 'ReportDegradation':
      return reportDegradation(command, state);
    case 'AddTargets':
      return addTargets(command, state);
    case 'RecordTakeover':
      return recordTakeover(command, state);
    default:
      return unknownCommand(command);
  }
}

export const distributionDecider: Decider<DistributionCommand, DistributionEvent, DistributionState> = {
  decide: decideDistribution,
  evolve: evolveDistribution,
  initialState: initialDistributionState,
};

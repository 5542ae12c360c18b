import { invalidIdReason, ROLLBACK_POLICIES, STRATEGIES } from '@hotswap/contracts';
import type {
  DistributionCreated, DistributionEvent, RollbackPolicy, Strategy, SuccessCriteria, TargetUpdateFailed,
  TargetUpdateRequested, TargetUpdateSucceeded,
} from '@hotswap/contracts';
import { unknownCommand, type Command, type Decider } from '../decider.js';
import { AlreadyExistsError, IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import { directPlanner } from '../rollout/direct.js';
import { assertDistinctTargets, type RolloutAction, type RolloutPlan, type RolloutPlanner } from '../rollout/planner.js';
import { requireNonNegativeNumber, requireOneOf, requireText, requireTimestamp, show } from '../validation.js';
import {
  evolveDistribution, initialDistributionState, targetStateOf, TERMINAL_DISTRIBUTION_STATUSES, type DistributionState,
  type ExistingDistribution,
} from './distribution.js';

export type CreateDistribution = Command<'CreateDistribution', {
  readonly distributionId: string;
  readonly modelId: string;
  readonly strategy: Strategy;
  /** Resolved target device ids, in rollout order. */
  readonly targets: readonly string[];
  readonly successCriteria: SuccessCriteria;
  readonly rollbackPolicy: RollbackPolicy;
  /** A rollback to an older version (devices then need a signed rollback instruction). */
  readonly rollback?: boolean;
}>;
export type StartDistribution = Command<'StartDistribution', {
  readonly distributionId: string;
  /** Device id → id of the swap command it will be sent; needed for every device of the first wave. */
  readonly commandIds: Readonly<Record<string, string>>;
}>;
/** A target device answered the swap command `commandId`. */
export type RecordTargetResult = Command<'RecordTargetResult', {
  readonly distributionId: string;
  readonly deviceId: string;
  readonly commandId: string;
  readonly outcome: 'succeeded' | 'failed';
  /** Required when succeeded. */
  readonly swapMs?: number;
  /** Required when failed. */
  readonly reason?: string;
}>;

export type DistributionCommand = CreateDistribution | StartDistribution | RecordTargetResult;

/** Strategies with a planner; the others are refused at creation until theirs exists. */
const PLANNERS: Partial<Record<Strategy, RolloutPlanner>> = { Direct: directPlanner };

function plannerFor(subject: string, strategy: Strategy): RolloutPlanner {
  const planner = PLANNERS[strategy];
  if (planner === undefined) throw new InvalidCommandError(`${subject}: strategy ${strategy} is not supported yet`);
  return planner;
}

function validSuccessCriteria(subject: string, criteria: SuccessCriteria | undefined): SuccessCriteria {
  if (criteria === undefined) return {};
  if (typeof criteria !== 'object' || criteria === null) throw new InvalidCommandError(`${subject}: successCriteria must be an object`);
  const valid: { -readonly [K in keyof SuccessCriteria]: number } = {};
  for (const key of ['maxLatencyMs', 'minAccuracy', 'maxErrorRate'] as const) {
    if (criteria[key] !== undefined) valid[key] = requireNonNegativeNumber(subject, `successCriteria.${key}`, criteria[key]);
  }
  return valid;
}

function createDistribution({ data, metadata }: CreateDistribution, state: DistributionState): DistributionCreated[] {
  if (state.status !== 'Empty') throw new AlreadyExistsError(`distribution ${data.distributionId} already exists`);
  requireText('distribution', 'distributionId', data.distributionId);
  const subject = `distribution ${data.distributionId}`;
  const createdAt = requireTimestamp(subject, 'metadata.now', metadata.now);
  const modelId = requireText(subject, 'modelId', data.modelId);
  plannerFor(subject, requireOneOf(subject, 'strategy', data.strategy, STRATEGIES));
  assertDistinctTargets(subject, data.targets);
  for (const target of data.targets) {
    const problem = invalidIdReason('device id', target);
    if (problem !== undefined) throw new InvalidCommandError(`${subject}: target ${problem}`);
  }
  return [{
    type: 'DistributionCreated',
    data: {
      distributionId: data.distributionId,
      modelId,
      strategy: data.strategy,
      targets: [...data.targets],
      successCriteria: validSuccessCriteria(subject, data.successCriteria),
      rollbackPolicy: requireOneOf(subject, 'rollbackPolicy', data.rollbackPolicy, ROLLBACK_POLICIES),
      ...(data.rollback === true ? { rollback: true } : {}),
      createdAt,
    },
  }];
}

function existing(state: DistributionState, distributionId: string): ExistingDistribution {
  if (state.status === 'Empty') throw new NotFoundError(`distribution ${distributionId} does not exist`);
  return state;
}

/**
 * Plans per distribution, keyed by its `targets` array: every state folded from one creation shares
 * that array, so a distribution is planned once rather than on every result.
 */
const plans = new WeakMap<readonly string[], RolloutPlan>();

/** What the distribution's planner says to do now. */
function nextActions(distribution: ExistingDistribution, now: string): RolloutAction[] {
  const planner = plannerFor(`distribution ${distribution.distributionId}`, distribution.strategy);
  let plan = plans.get(distribution.targets);
  if (plan === undefined) {
    // The decider has no fleet snapshot; Direct needs none, and health-gated planners will get
    // theirs through the commands that advance them.
    plan = planner.plan({ modelId: distribution.modelId, targets: distribution.targets, fleet: {} });
    plans.set(distribution.targets, plan);
  }
  return planner.next({
    plan, counts: distribution.targetCounts, targetState: (deviceId) => targetStateOf(distribution, deviceId), now,
  });
}

function commandIdFor(commandIds: StartDistribution['data']['commandIds'], deviceId: string): string | undefined {
  const commandId = Object.hasOwn(commandIds, deviceId) ? commandIds[deviceId] : undefined;
  return typeof commandId === 'string' && commandId.trim().length > 0 ? commandId : undefined;
}

function startDistribution({ data, metadata }: StartDistribution, state: DistributionState): DistributionEvent[] {
  const distribution = existing(state, data.distributionId);
  const subject = `distribution ${data.distributionId}`;
  if (distribution.status !== 'Created') {
    throw new IllegalStateError(`${subject} is ${distribution.status}; only a Created distribution can be started`);
  }
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  if (typeof data.commandIds !== 'object' || data.commandIds === null) {
    throw new InvalidCommandError(`${subject}: commandIds must map each device id to a command id`);
  }
  const strangers = Object.keys(data.commandIds).filter((id) => !distribution.targetIndex.has(id));
  if (strangers.length > 0) throw new InvalidCommandError(`${subject}: commandIds name devices that are not targets: ${strangers.join(', ')}`);
  const requested = nextActions(distribution, at)
    .filter((action) => action.type === 'RequestWave')
    .flatMap(({ wave, deviceIds }) => deviceIds.map((deviceId) => ({ wave, deviceId, commandId: commandIdFor(data.commandIds, deviceId) })));
  const missing = requested.filter(({ commandId }) => commandId === undefined).map(({ deviceId }) => deviceId);
  if (missing.length > 0) throw new InvalidCommandError(`${subject}: no command id given for ${missing.join(', ')}`);
  const seen = new Set<string | undefined>();
  for (const { commandId } of requested) {
    if (seen.has(commandId)) throw new InvalidCommandError(`${subject}: command id ${commandId} is given to more than one device`);
    seen.add(commandId);
  }
  return [
    { type: 'DistributionStarted', data: { distributionId: data.distributionId, at } },
    ...requested.map(({ wave, deviceId, commandId }): TargetUpdateRequested => ({
      type: 'TargetUpdateRequested',
      data: { distributionId: data.distributionId, deviceId, commandId: commandId as string, wave, at },
    })),
  ];
}

function targetResultEvent({ data }: RecordTargetResult, subject: string, at: string): TargetUpdateSucceeded | TargetUpdateFailed {
  const { distributionId, deviceId, commandId } = data;
  switch (data.outcome) {
    case 'succeeded': {
      const swapMs = requireNonNegativeNumber(subject, 'swapMs', data.swapMs);
      return { type: 'TargetUpdateSucceeded', data: { distributionId, deviceId, commandId, swapMs, at } };
    }
    case 'failed': {
      const reason = requireText(subject, 'reason', data.reason);
      return { type: 'TargetUpdateFailed', data: { distributionId, deviceId, commandId, reason, at } };
    }
    default:
      throw new InvalidCommandError(`${subject}: outcome must be succeeded or failed, got ${show(data.outcome)}`);
  }
}

function recordTargetResult(command: RecordTargetResult, state: DistributionState): DistributionEvent[] {
  const { data, metadata } = command;
  const distribution = existing(state, data.distributionId);
  const subject = `distribution ${data.distributionId}`;
  const target = targetStateOf(distribution, data.deviceId);
  if (target === undefined) throw new InvalidCommandError(`${subject}: device ${data.deviceId} is not a target`);
  const at = requireTimestamp(subject, 'metadata.now', metadata.now);
  requireText(subject, 'commandId', data.commandId);
  const result = targetResultEvent(command, `${subject}, device ${data.deviceId}`, at);
  // Late, repeated and stale replies are expected from an at-least-once device plane: ignored.
  if (TERMINAL_DISTRIBUTION_STATUSES.includes(distribution.status)) return [];
  if (target.status !== 'Requested' || target.commandId !== data.commandId) return [];
  const after = evolveDistribution(distribution, result) as ExistingDistribution;
  // A later wave needs fresh command ids, so RequestWave is left to the command that advances waves.
  const outcome = nextActions(after, at)
    .filter((action) => action.type !== 'RequestWave')
    .map((action): DistributionEvent => action.type === 'Succeed'
      ? { type: 'DistributionSucceeded', data: { distributionId: data.distributionId, at, updated: action.updated } }
      : {
        type: 'DistributionFailed',
        data: { distributionId: data.distributionId, at, reason: action.reason, updated: action.updated, failed: action.failed },
      });
  return [result, ...outcome];
}

export function decideDistribution(command: DistributionCommand, state: DistributionState): DistributionEvent[] {
  switch (command.type) {
    case 'CreateDistribution':
      return createDistribution(command, state);
    case 'StartDistribution':
      return startDistribution(command, state);
    case 'RecordTargetResult':
      return recordTargetResult(command, state);
    default:
      return unknownCommand(command);
  }
}

export const distributionDecider: Decider<DistributionCommand, DistributionEvent, DistributionState> = {
  decide: decideDistribution,
  evolve: evolveDistribution,
  initialState: initialDistributionState,
};

import type {
  Framework, ValidationCheck, ValidationMeasurements, ValidationReportView, ValidationStepResult, ValidationThresholds,
} from '@hotswap/contracts';
import { InvalidCommandError } from '../errors.js';
import { show } from '../validation.js';

/** The specification's quality gate: p99 < 100 ms, > 10 inferences/s, < 2 GB, accuracy > 90% of baseline, errors < 1%. */
export const DEFAULT_VALIDATION_THRESHOLDS: Required<ValidationThresholds> = {
  latencyP99Ms: 100,
  minThroughputPerSec: 10,
  maxMemoryMb: 2048,
  minAccuracyRatio: 0.9,
  maxErrorRate: 0.01,
};

/** Frameworks the validator can load and benchmark; the others are checked for structure only. */
export const RUNNABLE_FRAMEWORKS: readonly Framework[] = ['onnx'];

const THRESHOLD_RULES: { readonly [K in keyof Required<ValidationThresholds>]: { readonly min: number; readonly max?: number; readonly strictMin?: boolean; readonly unit: string } } = {
  latencyP99Ms: { min: 0, strictMin: true, unit: 'milliseconds' },
  minThroughputPerSec: { min: 0, unit: 'inferences per second' },
  maxMemoryMb: { min: 0, strictMin: true, unit: 'megabytes' },
  minAccuracyRatio: { min: 0, max: 1, unit: 'a fraction of the baseline' },
  maxErrorRate: { min: 0, max: 1, unit: 'a fraction of the inferences' },
};

/**
 * The thresholds of one run: `overrides` on top of `defaults`. An unknown key or a value out of
 * range is refused naming it, so a typo never silently falls back to a default.
 */
export function resolveThresholds(
  subject: string,
  overrides: ValidationThresholds | undefined,
  defaults: Required<ValidationThresholds> = DEFAULT_VALIDATION_THRESHOLDS,
): Required<ValidationThresholds> {
  const given = overrides ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new InvalidCommandError(`${subject}: thresholds must be an object, got ${show(given)}`);
  }
  const resolved: Record<string, number> = { ...defaults };
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const rule = THRESHOLD_RULES[key as keyof ValidationThresholds];
    if (!rule) {
      throw new InvalidCommandError(`${subject}: unknown threshold ${JSON.stringify(key)}; known: ${Object.keys(THRESHOLD_RULES).join(', ')}`);
    }
    const inRange = typeof value === 'number' && Number.isFinite(value)
      && (rule.strictMin ? value > rule.min : value >= rule.min) && (rule.max === undefined || value <= rule.max);
    if (!inRange) {
      const range = rule.max !== undefined ? `between ${rule.min} and ${rule.max}` : `${rule.strictMin ? '>' : '>='} ${rule.min}`;
      throw new InvalidCommandError(`${subject}: thresholds.${key} must be a number ${range} (${rule.unit}), got ${show(value)}`);
    }
    resolved[key] = value;
  }
  return resolved as Required<ValidationThresholds>;
}

export interface QualityGateInput {
  readonly framework: Framework;
  /** The SHA-256 recorded at upload; the artifact step must find the same. */
  readonly expectedSha256: string;
  readonly thresholds: Required<ValidationThresholds>;
  readonly steps: readonly ValidationStepResult[];
}

/**
 * Every check of the quality gate with its threshold, the measured value and the verdict. A check
 * whose measurement is missing (its step failed or was skipped) fails: nothing passes unmeasured.
 * Frameworks without a runtime get the structural checks and a failing `runtimeAvailable`.
 */
export function qualityGate(input: QualityGateInput): ValidationCheck[] {
  const { thresholds: t } = input;
  const m = measurementsOf(input.steps);
  const checks: ValidationCheck[] = [
    { name: 'checksum', threshold: input.expectedSha256, actual: m.sha256 ?? null, passed: m.sha256 === input.expectedSha256 },
    { name: 'format', threshold: input.framework, actual: m.format ?? null, passed: m.format === input.framework },
  ];
  if (!RUNNABLE_FRAMEWORKS.includes(input.framework)) {
    return [...checks, { name: 'runtimeAvailable', threshold: true, actual: false, passed: false }];
  }
  const load = input.steps.find((s) => s.step === 'load');
  checks.push(
    { name: 'load', threshold: true, actual: load ? load.outcome === 'Completed' : null, passed: load?.outcome === 'Completed' },
    below('latencyP99Ms', t.latencyP99Ms, m.latencyMs?.p99),
    above('minThroughputPerSec', t.minThroughputPerSec, m.throughputPerSec),
    below('maxMemoryMb', t.maxMemoryMb, m.memoryMb),
    below('maxErrorRate', t.maxErrorRate, m.errorRate),
  );
  // Accuracy is judged against the baseline only when both were measured; there is no absolute
  // bar, so without a baseline (or with one scoring 0) the accuracy is reported, not checked. A
  // dataset that was asked for but could not be run fails the check: nothing passes unmeasured.
  const accuracy = input.steps.find((s) => s.step === 'accuracy');
  if (accuracy?.outcome === 'Failed') {
    checks.push({ name: 'minAccuracyRatio', threshold: t.minAccuracyRatio, actual: null, passed: false });
  } else if (m.accuracy !== undefined && m.baselineAccuracy !== undefined && m.baselineAccuracy > 0) {
    checks.push(above('minAccuracyRatio', t.minAccuracyRatio, Math.round((m.accuracy / m.baselineAccuracy) * 1e6) / 1e6));
  }
  return checks;
}

/** The measurements of all steps merged; memory is the largest footprint any step saw. */
export function measurementsOf(steps: readonly ValidationStepResult[]): ValidationMeasurements {
  let merged: ValidationMeasurements = {};
  for (const { measurements } of steps) {
    const memoryMb = Math.max(merged.memoryMb ?? -Infinity, measurements.memoryMb ?? -Infinity);
    merged = { ...merged, ...measurements, ...(Number.isFinite(memoryMb) ? { memoryMb } : {}) };
  }
  return merged;
}

export interface ReportInput extends QualityGateInput {
  readonly modelId: string;
  readonly validationId: string;
  readonly ranOn: string;
  readonly startedAt: string;
}

/** The report of a run: `Running` without `finishedAt`, otherwise the gate's verdict with every check. */
export function validationReport(input: ReportInput, finishedAt?: string): ValidationReportView {
  const m = measurementsOf(input.steps);
  const checks = finishedAt === undefined ? [] : qualityGate(input);
  // A completed accuracy step explains its baseline (or the lack of one) in its detail.
  const notes = input.steps.filter((s) => (s.outcome !== 'Completed' || s.step === 'accuracy') && s.detail).map((s) => `${s.step}: ${s.detail}`);
  if (!RUNNABLE_FRAMEWORKS.includes(input.framework)) {
    notes.unshift(`no runtime for ${input.framework} in the validator: structure checked only; no load test or benchmark ran`);
  }
  return {
    modelId: input.modelId,
    validationId: input.validationId,
    status: finishedAt === undefined ? 'Running' : checks.every((c) => c.passed) ? 'Passed' : 'Failed',
    latencyMs: m.latencyMs ?? null,
    throughputPerSec: m.throughputPerSec ?? null,
    memoryMb: m.memoryMb ?? null,
    ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}),
    ...(m.precision !== undefined ? { precision: m.precision } : {}),
    ...(m.recall !== undefined ? { recall: m.recall } : {}),
    ...(m.datasetId !== undefined ? { datasetId: m.datasetId } : {}),
    ...(m.baselineAccuracy !== undefined ? { baselineAccuracy: m.baselineAccuracy } : {}),
    ...(m.baselineModelId !== undefined ? { baselineModelId: m.baselineModelId } : {}),
    errorRate: m.errorRate ?? null,
    checks,
    thresholds: input.thresholds,
    steps: input.steps,
    ranOn: input.ranOn,
    notes,
    startedAt: input.startedAt,
    ...(finishedAt !== undefined ? { finishedAt } : {}),
  };
}

/** The failing checks of a report in one line, e.g. `latencyP99Ms: 120.5 (threshold 100)`. */
export function describeFailedChecks(checks: readonly ValidationCheck[]): string {
  return checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.actual === null ? 'not measured' : String(c.actual)} (threshold ${String(c.threshold)})`).join('; ');
}

function below(name: string, threshold: number, actual: number | undefined): ValidationCheck {
  return { name, threshold, actual: actual ?? null, passed: actual !== undefined && actual < threshold };
}

function above(name: string, threshold: number, actual: number | undefined): ValidationCheck {
  return { name, threshold, actual: actual ?? null, passed: actual !== undefined && actual > threshold };
}

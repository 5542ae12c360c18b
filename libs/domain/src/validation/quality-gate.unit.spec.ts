import { describe, expect, it } from '@jest/globals';
import type { ValidationStepResult } from '@hotswap/contracts';
import { InvalidCommandError } from '../errors.js';
import {
  DEFAULT_VALIDATION_THRESHOLDS, describeFailedChecks, measurementsOf, qualityGate, resolveThresholds, validationReport,
  type QualityGateInput,
} from './quality-gate.js';

const sha = 'b'.repeat(64);
const artifact: ValidationStepResult = { step: 'artifact', outcome: 'Completed', durationMs: 3, measurements: { sha256: sha, format: 'onnx' } };
const load: ValidationStepResult = { step: 'load', outcome: 'Completed', durationMs: 20, measurements: { loadMs: 20, memoryMb: 12 } };
const benchmark = (m: Partial<ValidationStepResult['measurements']> = {}): ValidationStepResult => ({
  step: 'benchmark', outcome: 'Completed', durationMs: 50,
  measurements: { inferences: 100, latencyMs: { p50: 0.2, p95: 0.4, p99: 0.9 }, throughputPerSec: 2000, memoryMb: 15, errorRate: 0, cpuPercent: 90, ...m },
});
const input = (steps: ValidationStepResult[], overrides: Partial<QualityGateInput> = {}): QualityGateInput => ({
  framework: 'onnx', expectedSha256: sha, thresholds: DEFAULT_VALIDATION_THRESHOLDS, steps, ...overrides,
});
const verdicts = (steps: ValidationStepResult[], overrides: Partial<QualityGateInput> = {}) =>
  Object.fromEntries(qualityGate(input(steps, overrides)).map((c) => [c.name, c.passed]));

describe('quality gate', () => {
  describe('given the specification defaults', () => {
    it('are p99 < 100 ms, > 10 inferences/s, < 2048 MB, accuracy > 90% of baseline, error rate < 1%', () => {
      expect(DEFAULT_VALIDATION_THRESHOLDS).toStrictEqual({ latencyP99Ms: 100, minThroughputPerSec: 10, maxMemoryMb: 2048, minAccuracyRatio: 0.9, maxErrorRate: 0.01 });
    });

    it('passes a fast ONNX model, showing every check with threshold, actual and verdict', () => {
      expect(qualityGate(input([artifact, load, benchmark()]))).toStrictEqual([
        { name: 'checksum', threshold: sha, actual: sha, passed: true },
        { name: 'format', threshold: 'onnx', actual: 'onnx', passed: true },
        { name: 'load', threshold: true, actual: true, passed: true },
        { name: 'latencyP99Ms', threshold: 100, actual: 0.9, passed: true },
        { name: 'minThroughputPerSec', threshold: 10, actual: 2000, passed: true },
        { name: 'maxMemoryMb', threshold: 2048, actual: 15, passed: true },
        { name: 'maxErrorRate', threshold: 0.01, actual: 0, passed: true },
      ]);
    });

    it.each([
      ['latencyP99Ms', { latencyMs: { p50: 50, p95: 90, p99: 100 } }],
      ['minThroughputPerSec', { throughputPerSec: 10 }],
      ['maxMemoryMb', { memoryMb: 2048 }],
      ['maxErrorRate', { errorRate: 0.01 }],
    ] as const)('fails %s exactly at its threshold (the bounds are strict)', (name, measured) => {
      const verdict = verdicts([artifact, load, benchmark(measured)]);
      expect(verdict[name]).toBe(false);
      expect(Object.entries(verdict).filter(([, passed]) => !passed).map(([n]) => n)).toStrictEqual([name]);
    });

    it('takes the largest memory footprint any step saw', () => {
      expect(measurementsOf([load, benchmark({ memoryMb: 3 })]).memoryMb).toBe(12);
    });
  });

  describe('given a failed or missing step', () => {
    it('fails the checksum when the stored bytes hash differently, and every unmeasured check', () => {
      const corrupt: ValidationStepResult = { step: 'artifact', outcome: 'Failed', durationMs: 1, detail: 'checksum mismatch', measurements: { sha256: 'c'.repeat(64), format: 'onnx' } };
      expect(qualityGate(input([corrupt]))).toStrictEqual([
        { name: 'checksum', threshold: sha, actual: 'c'.repeat(64), passed: false },
        { name: 'format', threshold: 'onnx', actual: 'onnx', passed: true },
        { name: 'load', threshold: true, actual: null, passed: false },
        { name: 'latencyP99Ms', threshold: 100, actual: null, passed: false },
        { name: 'minThroughputPerSec', threshold: 10, actual: null, passed: false },
        { name: 'maxMemoryMb', threshold: 2048, actual: null, passed: false },
        { name: 'maxErrorRate', threshold: 0.01, actual: null, passed: false },
      ]);
    });

    it('fails load when the session could not be created', () => {
      expect(verdicts([artifact, { step: 'load', outcome: 'Failed', durationMs: 1, detail: 'bad graph', measurements: {} }])['load']).toBe(false);
    });

    it('fails the format when the bytes are not what was declared', () => {
      expect(verdicts([{ ...artifact, measurements: { sha256: sha, format: 'zip' } }, load, benchmark()])['format']).toBe(false);
    });
  });

  describe('given a framework without a runtime', () => {
    it('checks structure and fails runtimeAvailable, never passing silently', () => {
      const zip: ValidationStepResult = { step: 'artifact', outcome: 'Completed', durationMs: 1, measurements: { sha256: sha, format: 'tensorflow' } };
      expect(qualityGate(input([zip], { framework: 'tensorflow' }))).toStrictEqual([
        { name: 'checksum', threshold: sha, actual: sha, passed: true },
        { name: 'format', threshold: 'tensorflow', actual: 'tensorflow', passed: true },
        { name: 'runtimeAvailable', threshold: true, actual: false, passed: false },
      ]);
    });
  });

  describe('given an accuracy measurement', () => {
    it('compares it with the baseline: above 90% passes, at or below fails', () => {
      const accuracy = (value: number): ValidationStepResult => ({ step: 'accuracy', outcome: 'Completed', durationMs: 1, measurements: { accuracy: value, baselineAccuracy: 0.8 } });
      const check = (value: number) => qualityGate(input([artifact, load, benchmark(), accuracy(value)])).find((c) => c.name === 'minAccuracyRatio');
      expect(check(0.8)).toStrictEqual({ name: 'minAccuracyRatio', threshold: 0.9, actual: 1, passed: true });
      expect(check(0.72)?.passed).toBe(false);
    });

    it('has no ratio check without a baseline, but reports the accuracy', () => {
      const steps: ValidationStepResult[] = [artifact, load, benchmark(), { step: 'accuracy', outcome: 'Completed', durationMs: 1, measurements: { accuracy: 0.5 } }];
      expect(verdicts(steps)['minAccuracyRatio']).toBeUndefined();
      expect(validationReport({ ...input(steps), modelId: 'm-1.0.0', validationId: 'v', ranOn: 'validator', startedAt: 't0' }, 't1').accuracy).toBe(0.5);
    });

    it('reports precision, recall, the dataset and the baseline, and notes what the accuracy step says', () => {
      const measured: ValidationStepResult = {
        step: 'accuracy', outcome: 'Completed', durationMs: 1, detail: 'dataset ds-1: accuracy 0.9; baseline m-0.9.0: accuracy 0.95',
        measurements: { accuracy: 0.9, precision: 0.8, recall: 0.7, datasetId: 'ds-1', samples: 10, baselineAccuracy: 0.95, baselineModelId: 'm-0.9.0' },
      };
      const report = validationReport({ ...input([artifact, load, benchmark(), measured]), modelId: 'm-1.0.0', validationId: 'v', ranOn: 'validator', startedAt: 't0' }, 't1');
      expect(report).toMatchObject({
        status: 'Passed', accuracy: 0.9, precision: 0.8, recall: 0.7, datasetId: 'ds-1', baselineAccuracy: 0.95, baselineModelId: 'm-0.9.0',
        notes: ['accuracy: dataset ds-1: accuracy 0.9; baseline m-0.9.0: accuracy 0.95'],
      });
      expect(report.checks.find((c) => c.name === 'minAccuracyRatio')).toStrictEqual({ name: 'minAccuracyRatio', threshold: 0.9, actual: 0.947368, passed: true });
    });

    it('fails the ratio check, unmeasured, when a requested dataset could not be run', () => {
      const failed: ValidationStepResult = { step: 'accuracy', outcome: 'Failed', durationMs: 1, detail: 'dataset ds-1 not found', measurements: { datasetId: 'ds-1' } };
      expect(qualityGate(input([artifact, load, benchmark(), failed])).at(-1)).toStrictEqual({ name: 'minAccuracyRatio', threshold: 0.9, actual: null, passed: false });
    });
  });

  describe('thresholds', () => {
    it('overrides only the given keys', () => {
      expect(resolveThresholds('model m', { latencyP99Ms: 20 })).toStrictEqual({ ...DEFAULT_VALIDATION_THRESHOLDS, latencyP99Ms: 20 });
      expect(resolveThresholds('model m', undefined, { ...DEFAULT_VALIDATION_THRESHOLDS, maxMemoryMb: 512 }).maxMemoryMb).toBe(512);
    });

    it.each([
      [{ latencyP99Ms: 0 }, 'thresholds.latencyP99Ms must be a number > 0 (milliseconds), got 0'],
      [{ minThroughputPerSec: -1 }, 'thresholds.minThroughputPerSec must be a number >= 0'],
      [{ maxErrorRate: 1.5 }, 'thresholds.maxErrorRate must be a number between 0 and 1'],
      [{ minAccuracyRatio: '0.9' }, 'thresholds.minAccuracyRatio must be a number between 0 and 1 (a fraction of the baseline), got "0.9"'],
      [{ maxMemoryMb: Number.POSITIVE_INFINITY }, 'thresholds.maxMemoryMb must be a number > 0'],
      [{ p99: 5 }, 'unknown threshold "p99"; known: latencyP99Ms'],
      [[1], 'thresholds must be an object'],
    ])('refuses %p, naming the threshold', (given, message) => {
      expect(() => resolveThresholds('model m', given as never)).toThrow(InvalidCommandError);
      expect(() => resolveThresholds('model m', given as never)).toThrow(message);
    });
  });

  describe('report', () => {
    const base = { modelId: 'm-1.0.0', validationId: 'v-1', ranOn: 'validator', startedAt: '2026-01-01T00:00:00.000Z' };

    it('is Running with no checks until finished', () => {
      const report = validationReport({ ...input([artifact]), ...base });
      expect(report).toMatchObject({ status: 'Running', checks: [], latencyMs: null, throughputPerSec: null, memoryMb: null, errorRate: null, notes: [] });
      expect(report).not.toHaveProperty('finishedAt');
    });

    it('is Passed with the benchmark figures once every check passed', () => {
      const report = validationReport({ ...input([artifact, load, benchmark()]), ...base }, '2026-01-01T00:00:01.000Z');
      expect(report).toMatchObject({ status: 'Passed', latencyMs: { p50: 0.2, p95: 0.4, p99: 0.9 }, throughputPerSec: 2000, memoryMb: 15, errorRate: 0, finishedAt: '2026-01-01T00:00:01.000Z' });
    });

    it('says plainly that no load test or benchmark ran for a framework without a runtime', () => {
      const skipped: ValidationStepResult = { step: 'load', outcome: 'Skipped', durationMs: 0, detail: 'no runtime for pytorch', measurements: {} };
      const report = validationReport({ ...input([{ ...artifact, measurements: { sha256: sha, format: 'pytorch' } }, skipped], { framework: 'pytorch' }), ...base }, 't');
      expect(report.status).toBe('Failed');
      expect(report.notes).toStrictEqual(['no runtime for pytorch in the validator: structure checked only; no load test or benchmark ran', 'load: no runtime for pytorch']);
    });

    it('describes the failing checks in one line', () => {
      const checks = qualityGate(input([artifact, load, benchmark({ latencyMs: { p50: 1, p95: 2, p99: 120.5 } })]));
      expect(describeFailedChecks(checks)).toBe('latencyP99Ms: 120.5 (threshold 100)');
      expect(describeFailedChecks(qualityGate(input([])))).toContain('checksum: not measured');
    });
  });
});

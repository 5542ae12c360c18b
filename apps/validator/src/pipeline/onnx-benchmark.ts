import * as ort from 'onnxruntime-node';
import type { LatencyPercentiles } from '@hotswap/contracts';

/** A model input that cannot be generated (not a tensor, or a type without a typed array). */
export class UnsupportedInputError extends Error {
  override readonly name = 'UnsupportedInputError';
}

/**
 * One feed per input, from the session's input schema: symbolic or unknown dimensions become 1,
 * values are small deterministic numbers (the benchmark measures speed, not answers).
 */
export function generateFeeds(session: ort.InferenceSession): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of session.inputMetadata) {
    if (!input.isTensor) throw new UnsupportedInputError(`input ${input.name} is not a tensor`);
    const dims = input.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    feeds[input.name] = tensorOf(input.type, dims, input.name);
  }
  return feeds;
}

function tensorOf(type: ort.Tensor.Type, dims: number[], name: string): ort.Tensor {
  const size = dims.reduce((a, b) => a * b, 1);
  const ramp = (i: number) => i % 7;
  switch (type) {
    case 'float32': return new ort.Tensor(type, Float32Array.from({ length: size }, (_, i) => ramp(i) / 7), dims);
    case 'float64': return new ort.Tensor(type, Float64Array.from({ length: size }, (_, i) => ramp(i) / 7), dims);
    case 'int8': return new ort.Tensor(type, Int8Array.from({ length: size }, (_, i) => ramp(i)), dims);
    case 'uint8': return new ort.Tensor(type, Uint8Array.from({ length: size }, (_, i) => ramp(i)), dims);
    case 'bool': return new ort.Tensor(type, Uint8Array.from({ length: size }, (_, i) => i % 2), dims);
    case 'int16': return new ort.Tensor(type, Int16Array.from({ length: size }, (_, i) => ramp(i)), dims);
    case 'uint16': return new ort.Tensor(type, Uint16Array.from({ length: size }, (_, i) => ramp(i)), dims);
    case 'float16': return new ort.Tensor(type, new Uint16Array(size), dims);
    case 'int32': return new ort.Tensor(type, Int32Array.from({ length: size }, (_, i) => ramp(i)), dims);
    case 'uint32': return new ort.Tensor(type, Uint32Array.from({ length: size }, (_, i) => ramp(i)), dims);
    case 'int64': return new ort.Tensor(type, BigInt64Array.from({ length: size }, (_, i) => BigInt(ramp(i))), dims);
    case 'uint64': return new ort.Tensor(type, BigUint64Array.from({ length: size }, (_, i) => BigInt(ramp(i))), dims);
    case 'string': return new ort.Tensor(type, Array.from({ length: size }, (_, i) => String(ramp(i))), dims);
    default: throw new UnsupportedInputError(`input ${name} has type ${type}, which the benchmark cannot generate`);
  }
}

export interface BenchmarkResult {
  readonly inferences: number;
  readonly latencyMs: LatencyPercentiles;
  readonly throughputPerSec: number;
  readonly errorRate: number;
  /** Process CPU time over wall time, in percent of one core. */
  readonly cpuPercent: number;
  /** Largest resident-memory growth over `baselineRss` seen during the run, in MB. */
  readonly memoryMb: number;
  /** The first inference error, when any failed. */
  readonly firstError?: string;
}

/** The benchmark was stopped before its last inference (`stopping` said so). */
export class BenchmarkStoppedError extends Error {
  override readonly name = 'BenchmarkStoppedError';
}

/**
 * Runs `inferences` timed inferences one after another, after `warmup` untimed ones. `stopping` is
 * asked before each, so a shutting-down validator does not wait for a long benchmark.
 */
export async function benchmark(
  session: ort.InferenceSession, feeds: Record<string, ort.Tensor>,
  options: { inferences: number; warmup: number; baselineRss: number; stopping?: () => boolean },
): Promise<BenchmarkResult> {
  for (let i = 0; i < options.warmup; i++) await session.run(feeds).catch(() => undefined);
  const latencies: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  let peakRss = process.memoryUsage.rss();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < options.inferences; i++) {
    if (options.stopping?.()) throw new BenchmarkStoppedError(`stopped after ${i} of ${options.inferences} inferences`);
    const t0 = performance.now();
    try {
      await session.run(feeds);
      latencies.push(performance.now() - t0);
    } catch (error) {
      failures++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
    if (i % 10 === 9) peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  return {
    inferences: options.inferences,
    latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99) },
    throughputPerSec: round(latencies.length / (wallMs / 1000)),
    errorRate: failures / options.inferences,
    cpuPercent: round(((cpu.user + cpu.system) / 1000 / wallMs) * 100),
    memoryMb: toMb(Math.max(0, peakRss - options.baselineRss)),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** Nearest-rank percentile of sorted values, in ms rounded to µs; 0 when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!);
}

export const toMb = (bytes: number): number => round(bytes / (1024 * 1024));
const round = (value: number): number => Math.round(value * 1000) / 1000;

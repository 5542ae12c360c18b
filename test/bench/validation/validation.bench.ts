import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Queries, Streams, type ValidationReportView } from '@hotswap/contracts';
import { modelDecider } from '@hotswap/domain';
import { handleCommand } from '@hotswap/infrastructure';
import { makeAddModel, makeSlowModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ValidatorModule } from '@hotswap/validator';

/**
 * How long the validator takes from `ModelUploaded` to a finished report (artifact check, load,
 * 100-inference benchmark, quality gate), for the small test models.
 */
const RUNS = 10;
let t: TestRuntime;
let validator: INestApplicationContext;

async function uploadAndTime(name: string, bytes: Buffer): Promise<{ ms: number; report: ValidationReportView }> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const modelId = `${name}-1.0.0`;
  const artifactKey = `models/${name}/${sha256}.onnx`;
  await t.runtime.artifacts.put(artifactKey, Readable.from([bytes]));
  const now = new Date().toISOString();
  const started = performance.now();
  await handleCommand(t.runtime.eventStore, Streams.model(modelId), modelDecider, {
    type: 'UploadModel', data: { modelId, name, version: '1.0.0', framework: 'onnx', sha256, sizeBytes: bytes.length, artifactKey, metadata: {} }, metadata: { now },
  }, { actor: 'bench', now });
  for (;;) {
    const report = await t.runtime.bus.request<{ id: string }, ValidationReportView>(Queries.getValidationReport, { id: modelId }, { timeoutMs: 5_000 }).catch(() => undefined);
    if (report && report.status !== 'Running') return { ms: performance.now() - started, report };
    if (performance.now() - started > 30_000) throw new Error(`validation of ${modelId} did not finish in 30 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

beforeAll(async () => {
  t = await startTestRuntime();
  validator = await NestFactory.createApplicationContext(ValidatorModule.register(t.runtime), { logger: false });
  await validator.init();
}, 60_000);

afterAll(async () => {
  await validator?.close();
  await t?.cleanup();
});

describe('validation duration', () => {
  it.each([
    ['add model [1,4]', (i: number) => makeAddModel({ addend: i })],
    ['slow model 256x256, depth 32', (i: number) => makeSlowModel({ addend: i, size: 256, depth: 32 })],
  ])('%s', async (label, make) => {
    // Warm the process (onnxruntime, JIT) so the first run does not skew the median.
    await uploadAndTime(`warm-${label.split(' ')[0]}`, make(99));
    const times: number[] = [];
    let last: ValidationReportView | undefined;
    for (let i = 0; i < RUNS; i++) {
      const bytes = make(i);
      const { ms, report } = await uploadAndTime(`${label.split(' ')[0]}-${i}`, bytes);
      times.push(ms);
      last = report;
    }
    expect(last!.status).toBe('Passed');
    const steps = last!.steps.map((s) => `${s.step} ${s.durationMs.toFixed(1)} ms`).join(', ');
    console.log(`${label} (${make(0).length} bytes): upload recorded → report finished, median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms over ${RUNS} runs; last run: ${steps}; p50/p99 ${last!.latencyMs!.p50}/${last!.latencyMs!.p99} ms, ${last!.throughputPerSec} inferences/s, memory ${last!.memoryMb} MB`);
  }, 120_000);
});

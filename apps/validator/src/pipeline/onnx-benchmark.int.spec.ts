import { describe, expect, it } from '@jest/globals';
import * as ort from 'onnxruntime-node';
import { makeIdentityModel, type ElementType } from '@hotswap/infrastructure/testing';
import { formatMatches, formatOf } from './artifact-check.js';
import { benchmark, generateFeeds, percentile } from './onnx-benchmark.js';

describe('benchmark inputs', () => {
  it('generates a feed for every element type from the input schema, symbolic dimensions as 1', async () => {
    const types: ElementType[] = ['float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string', 'float16'];
    const session = await ort.InferenceSession.create(makeIdentityModel(types.map((type) => ({ name: `in_${type}`, type, shape: ['batch', 3] }))));
    try {
      const feeds = generateFeeds(session);
      expect(Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, [tensor.type, tensor.dims]])))
        .toEqual(Object.fromEntries(types.map((type) => [`in_${type}`, [type, [1, 3]]])));
      const result = await benchmark(session, feeds, { inferences: 10, warmup: 1, baselineRss: process.memoryUsage.rss() });
      expect(result).toMatchObject({ inferences: 10, errorRate: 0 });
      expect(result.throughputPerSec).toBeGreaterThan(0);
    } finally {
      await session.release();
    }
  });

  it('counts failed inferences into the error rate and keeps the first error', async () => {
    const session = await ort.InferenceSession.create(makeIdentityModel([{ name: 'x', type: 'float32', shape: [1, 2] }]));
    try {
      const wrong = { x: new ort.Tensor('float32', new Float32Array(3), [1, 3]) };
      const result = await benchmark(session, wrong, { inferences: 5, warmup: 0, baselineRss: 0 });
      expect(result.errorRate).toBe(1);
      expect(result.firstError).toBeDefined();
      expect(result.latencyMs).toEqual({ p50: 0, p95: 0, p99: 0 });
    } finally {
      await session.release();
    }
  });
});

describe('percentiles and formats', () => {
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)]).toEqual([50, 95, 99]);
    expect(percentile([], 0.5)).toBe(0);
  });

  it('tells ONNX, ZIP and pickle apart by their first bytes', () => {
    expect(formatOf(Buffer.from([0x08, 0x08]))).toBe('onnx');
    expect(formatOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]))).toBe('zip');
    expect(formatOf(Buffer.from([0x80, 0x02]))).toBe('pytorch');
    expect(formatOf(Buffer.from('hello'))).toBe('unknown');
    expect([formatMatches('tensorflow', 'zip'), formatMatches('pytorch', 'zip'), formatMatches('onnx', 'zip'), formatMatches('pytorch', 'pytorch')])
      .toEqual([true, true, false, true]);
  });
});

import { describe, it, expect } from '@jest/globals';
import * as ort from 'onnxruntime-node';
import { ELEMENT_TYPES, makeAddModel, makeIdentityModel, makeSlowModel, type ElementType } from './onnx-models.js';

async function run(model: Buffer, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(model);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('generated ONNX test models', () => {
  it('the add model loads in onnxruntime and returns x + 1', async () => {
    const x = new ort.Tensor('float32', Float32Array.from([0, 1, 2.5, -3]), [1, 4]);
    const { y } = await run(makeAddModel({ addend: 1 }), { x });
    expect(y.dims).toEqual([1, 4]);
    expect(Array.from(y.data as Float32Array)).toEqual([1, 2, 3.5, -2]);
  });

  it('the add model honours names, shape and a symbolic batch dimension', async () => {
    const model = makeAddModel({ addend: 2, inputName: 'input', outputName: 'output', shape: ['batch', 3], opset: 17 });
    const session = await ort.InferenceSession.create(model);
    try {
      const meta = session.inputMetadata[0];
      expect(meta.name).toBe('input');
      expect(meta.isTensor && meta.shape).toEqual(['batch', 3]);
      const input = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
      const { output } = await session.run({ input });
      expect(Array.from(output.data as Float32Array)).toEqual([3, 4, 5, 6, 7, 8]);
    } finally {
      await session.release();
    }
  });

  it('versions with different addends produce different bytes', () => {
    expect(makeAddModel({ addend: 1 }).equals(makeAddModel({ addend: 2 }))).toBe(false);
    expect(makeAddModel({ addend: 1 }).equals(makeAddModel({ addend: 1 }))).toBe(true);
  });

  it('the slow model computes x + addend through its MatMul chain', async () => {
    const x = new ort.Tensor('float32', Float32Array.from({ length: 8 }, (_, i) => i), [1, 8]);
    const { y } = await run(makeSlowModel({ addend: 1, size: 8, depth: 4 }), { x });
    expect(Array.from(y.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('the slow model refuses a non-positive size or depth', () => {
    expect(() => makeSlowModel({ addend: 1, size: 0 })).toThrow('size must be a positive integer, got 0');
    expect(() => makeSlowModel({ addend: 1, depth: 1.5 })).toThrow('depth must be a positive integer, got 1.5');
  });

  it('the identity model declares inputs of every element type with their shapes', async () => {
    const types = Object.keys(ELEMENT_TYPES) as ElementType[];
    const session = await ort.InferenceSession.create(makeIdentityModel(types.map((type) => ({ name: type, type, shape: ['n', 2] }))));
    try {
      expect(session.inputMetadata.map((m) => (m.isTensor ? [m.name, m.type, m.shape] : []))).toEqual(types.map((t) => [t, t, ['n', 2]]));
      const { int32_out } = await session.run(
        Object.fromEntries(
          session.inputMetadata.map((m) => [m.name, m.name === 'int32' ? new ort.Tensor('int32', Int32Array.from([7, 8]), [1, 2]) : zero(m.name as ElementType)]),
        ),
        ['int32_out'],
      );
      expect(Array.from(int32_out.data as Int32Array)).toEqual([7, 8]);
    } finally {
      await session.release();
    }
  });
});

function zero(type: ElementType): ort.Tensor {
  if (type === 'string') return new ort.Tensor('string', ['', ''], [1, 2]);
  if (type === 'int64' || type === 'uint64') return new ort.Tensor(type, type === 'int64' ? new BigInt64Array(2) : new BigUint64Array(2), [1, 2]);
  const arrays = { float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array } as const;
  return new ort.Tensor(type, new arrays[type](2), [1, 2]);
}

import { describe, it, expect } from '@jest/globals';
import type { InputSpec } from '../swap/tensors.js';
import { parseInferenceRequest, tensorToJson } from './inference-request.js';

const input = (name: string, type: InputSpec['type'], shape: Array<number | string>): InputSpec => ({ name, isTensor: true, type, shape });
const inputs = [input('x', 'float32', ['batch', 2])];

describe('POST /infer bodies', () => {
  it('builds typed tensors for every element type it accepts', () => {
    const spec = [input('b', 'bool', [2]), input('i', 'int64', [2]), input('u', 'uint64', [1]), input('s', 'string', [1]), input('f', 'float64', [1])];
    const parsed = parseInferenceRequest(
      {
        inputs: {
          b: { type: 'bool', dims: [2], data: [true, 0] },
          i: { type: 'int64', dims: [2], data: [-3, 4] },
          u: { type: 'uint64', dims: [1], data: [5] },
          s: { type: 'string', dims: [1], data: ['hi'] },
          f: { type: 'float64', dims: [1], data: [0.5] },
        },
        label: [1, 2],
      },
      spec,
    );
    if (!parsed.ok) throw new Error(parsed.message);
    const { feeds, label } = parsed.value;
    expect(Array.from(feeds.b.data as Uint8Array)).toEqual([1, 0]);
    expect(Array.from(feeds.i.data as BigInt64Array)).toEqual([-3n, 4n]);
    expect(Array.from(feeds.u.data as BigUint64Array)).toEqual([5n]);
    expect(feeds.s.data).toEqual(['hi']);
    expect(feeds.f.data).toBeInstanceOf(Float64Array);
    expect(label).toEqual([1, 2]);
  });

  it('takes any size for a symbolic dimension', () => {
    const parsed = parseInferenceRequest({ inputs: { x: { type: 'float32', dims: [3, 2], data: [1, 2, 3, 4, 5, 6] } }, label: 1 }, inputs);
    expect(parsed.ok && parsed.value.feeds.x.dims).toEqual([3, 2]);
  });

  it.each([
    [[1, 2], 'the body must be a JSON object { inputs, label? }'],
    [{ inputs: [] }, 'inputs must be an object mapping input names to { type, dims, data }'],
    [{ inputs: { x: 5 } }, 'inputs.x must be an object { type, dims, data }'],
    [{ inputs: { x: { type: 'float32', dims: [1], data: [1] } } }, 'inputs.x.dims has 1 dimensions; the model expects 2 ([batch, 2])'],
    [{ inputs: { x: { type: 'float32', dims: [1, -2], data: [] } } }, 'inputs.x.dims must be an array of at most 16 non-negative integers'],
    [{ inputs: { x: { type: 'float32', dims: [1, 2], data: 'ab' } } }, 'inputs.x.data must be a flat array'],
    [{ inputs: { x: { type: 'float32', dims: [1, 2], data: [1, null] } } }, 'inputs.x.data[1] must be a finite number'],
    [{ inputs: { x: { type: 'float32', dims: [1, 2], data: [1, 2] } }, label: [] }, 'label must be a number'],
  ])('refuses %j', (body, message) => {
    const parsed = parseInferenceRequest(body, inputs);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message.startsWith(message)).toBe(true);
  });

  it.each([
    [input('b', 'bool', [1]), [2], 'inputs.b.data[0] must be true, false, 0 or 1'],
    [input('i', 'int64', [1]), [1.5], 'inputs.i.data[0] must be an integer'],
    [input('u', 'uint64', [1]), [-1], 'inputs.u.data[0] must be a non-negative integer'],
    [input('s', 'string', [1]), [1], 'inputs.s.data[0] must be a string'],
    [input('h', 'float16', [1]), [1], 'inputs.h.type float16 is not supported over HTTP'],
  ])('refuses a bad value for %j', (spec, data, message) => {
    const parsed = parseInferenceRequest({ inputs: { [spec.name]: { type: spec.type, dims: [1], data } } }, [spec]);
    expect(parsed).toEqual({ ok: false, message });
  });

  it('writes 64-bit integer outputs as numbers, or as strings beyond 2^53', () => {
    expect(tensorToJson({ type: 'int64', dims: [2], data: BigInt64Array.from([7n, 2n ** 60n]) })).toEqual({ type: 'int64', dims: [2], data: [7, '1152921504606846976'] });
    expect(tensorToJson({ type: 'float32', dims: [1], data: Float32Array.from([0.5]) }).data).toEqual([0.5]);
  });
});

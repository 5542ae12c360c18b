/**
 * Tensors as they cross the worker boundary: `{ type, dims, data }` with `data` a typed array (or
 * strings), which structured clone copies or a transfer list moves. Zero inputs for warm-up are
 * built from a model's input signature here, on the main thread.
 */
import * as ort from 'onnxruntime-node';

export type TensorType = ort.Tensor.Type;
export type TensorValues = ort.Tensor['data'];

export interface TensorData {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: TensorValues;
}

export type Feeds = Record<string, TensorData>;

/** One input of a model, as onnxruntime describes it; symbolic dimensions are strings. */
export interface InputSpec {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: TensorType;
  readonly shape?: ReadonlyArray<number | string>;
}

export class UnsupportedModelInputError extends Error {
  override readonly name = 'UnsupportedModelInputError';
}

/** Typed-array constructors by element type (strings are plain arrays). */
export const TYPED_ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
} as const;

export type NumericType = keyof typeof TYPED_ARRAYS;

export function isNumericType(type: string): type is NumericType {
  return Object.prototype.hasOwnProperty.call(TYPED_ARRAYS, type);
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** The concrete dims of an input: symbolic or unknown dimensions become 1. */
export function concreteDims(spec: InputSpec): number[] {
  return (spec.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
}

/** Zero tensors for the given input signature. @throws UnsupportedModelInputError */
export function zeroFeeds(inputs: readonly InputSpec[]): Feeds {
  const feeds: Feeds = {};
  for (const input of inputs) {
    if (!input.isTensor || input.type === undefined) throw new UnsupportedModelInputError(`input ${input.name} is not a tensor; cannot build a warm-up input`);
    const dims = concreteDims(input);
    const size = elementCount(dims);
    if (input.type === 'string') feeds[input.name] = { type: input.type, dims, data: new Array<string>(size).fill('') };
    else if (isNumericType(input.type)) feeds[input.name] = { type: input.type, dims, data: new TYPED_ARRAYS[input.type](size) };
    else throw new UnsupportedModelInputError(`input ${input.name} has type ${input.type}; cannot build a warm-up input`);
  }
  return feeds;
}

export function fromOrtTensor(t: ort.Tensor): TensorData {
  return { type: t.type, dims: [...t.dims], data: t.data };
}

export function toOrtTensor(t: TensorData): ort.Tensor {
  return new ort.Tensor(t.type, t.data as Float32Array, t.dims);
}

/** The buffers of `feeds` to hand over to the worker (they become unusable here). */
export function transferables(feeds: Feeds): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const t of Object.values(feeds)) if (ArrayBuffer.isView(t.data) && t.data.buffer instanceof ArrayBuffer) buffers.add(t.data.buffer);
  return [...buffers];
}

/**
 * Loads an ONNX model into an onnxruntime session and warms it up with zero inputs, so the first
 * real request after the swap does not pay for lazy initialisation.
 */
import * as ort from 'onnxruntime-node';

export type SessionOptions = ort.InferenceSession.SessionOptions;

export class UnsupportedModelInputError extends Error {
  override readonly name = 'UnsupportedModelInputError';
}

export async function loadSession(path: string, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, options);
}

/** Zero tensors shaped from the session's input metadata; symbolic or unknown dimensions become 1. */
export function zeroFeeds(session: ort.InferenceSession): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of session.inputMetadata) {
    if (!input.isTensor) throw new UnsupportedModelInputError(`input ${input.name} is not a tensor; cannot build a warm-up input`);
    const dims = input.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    feeds[input.name] = zeroTensor(input.type, dims, input.name);
  }
  return feeds;
}

export async function warmUp(session: ort.InferenceSession, runs: number): Promise<void> {
  if (runs <= 0) return;
  const feeds = zeroFeeds(session);
  for (let i = 0; i < runs; i++) await session.run(feeds);
}

function zeroTensor(type: ort.Tensor.Type, dims: number[], name: string): ort.Tensor {
  const size = dims.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'float32':
      return new ort.Tensor(type, new Float32Array(size), dims);
    case 'float64':
      return new ort.Tensor(type, new Float64Array(size), dims);
    case 'float16':
      return new ort.Tensor(type, new Uint16Array(size), dims);
    case 'int8':
      return new ort.Tensor(type, new Int8Array(size), dims);
    case 'uint8':
    case 'bool':
      return new ort.Tensor(type, new Uint8Array(size), dims);
    case 'int16':
      return new ort.Tensor(type, new Int16Array(size), dims);
    case 'uint16':
      return new ort.Tensor(type, new Uint16Array(size), dims);
    case 'int32':
      return new ort.Tensor(type, new Int32Array(size), dims);
    case 'uint32':
      return new ort.Tensor(type, new Uint32Array(size), dims);
    case 'int64':
      return new ort.Tensor(type, new BigInt64Array(size), dims);
    case 'uint64':
      return new ort.Tensor(type, new BigUint64Array(size), dims);
    case 'string':
      return new ort.Tensor(type, new Array<string>(size).fill(''), dims);
    default:
      throw new UnsupportedModelInputError(`input ${name} has type ${type}; cannot build a warm-up input`);
  }
}

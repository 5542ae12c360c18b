import * as ort from 'onnxruntime-node';
import type { DatasetElementType } from '@hotswap/contracts';
import type { Dataset, DatasetInput } from '@hotswap/domain';

/** Why the dataset cannot feed this model (a missing input, a type mismatch, an unknown output), or `undefined`. */
export function incompatibility(session: ort.InferenceSession, dataset: Dataset, output: string | undefined): string | undefined {
  const byName = new Map(dataset.inputs.map((i) => [i.name, i]));
  for (const input of session.inputMetadata) {
    const given = byName.get(input.name);
    if (!given) {
      return `the dataset has no input "${input.name}", which the model needs (model inputs: ${session.inputNames.join(', ')}; dataset inputs: ${[...byName.keys()].join(', ')})`;
    }
    if (input.isTensor && input.type !== given.type) return `dataset input "${input.name}" is ${given.type}, the model wants ${input.type}`;
  }
  if (output !== undefined && !session.outputNames.includes(output)) {
    return `the dataset compares output "${output}", which the model does not have (model outputs: ${session.outputNames.join(', ')})`;
  }
  return undefined;
}

export interface Predictions {
  /** The flat compared output per sample; `null` where the inference failed. */
  readonly outputs: ReadonlyArray<ArrayLike<number> | null>;
  readonly failures: number;
  readonly firstError?: string;
}

/** Runs every sample through the session, one at a time, keeping the compared output as numbers. */
export async function predict(session: ort.InferenceSession, dataset: Dataset, output = session.outputNames[0]!): Promise<Predictions> {
  const needed = new Set(session.inputNames);
  const inputs = dataset.inputs.filter((i) => needed.has(i.name));
  const outputs: (ArrayLike<number> | null)[] = [];
  let failures = 0;
  let firstError: string | undefined;
  for (let sample = 0; sample < dataset.samples; sample++) {
    try {
      const feeds = Object.fromEntries(inputs.map((input) => [input.name, tensorOf(input, sample)]));
      const result = await session.run(feeds, [output]);
      outputs.push(numbersOf(result[output]!.data));
    } catch (error) {
      outputs.push(null);
      failures++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
  return { outputs, failures, ...(firstError !== undefined ? { firstError } : {}) };
}

function tensorOf(input: DatasetInput, sample: number): ort.Tensor {
  const values = input.data[sample]!;
  const dims = [...input.dims];
  const make: Record<DatasetElementType, () => ort.Tensor> = {
    float32: () => new ort.Tensor('float32', Float32Array.from(values), dims),
    float64: () => new ort.Tensor('float64', Float64Array.from(values), dims),
    int8: () => new ort.Tensor('int8', Int8Array.from(values), dims),
    uint8: () => new ort.Tensor('uint8', Uint8Array.from(values), dims),
    int16: () => new ort.Tensor('int16', Int16Array.from(values), dims),
    uint16: () => new ort.Tensor('uint16', Uint16Array.from(values), dims),
    int32: () => new ort.Tensor('int32', Int32Array.from(values), dims),
    uint32: () => new ort.Tensor('uint32', Uint32Array.from(values), dims),
    int64: () => new ort.Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims),
    uint64: () => new ort.Tensor('uint64', BigUint64Array.from(Array.from(values, (v) => BigInt(v))), dims),
    bool: () => new ort.Tensor('bool', Uint8Array.from(values), dims),
  };
  return make[input.type]();
}

function numbersOf(data: ort.Tensor['data']): ArrayLike<number> {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  if (Array.isArray(data)) return data.map(Number);
  return data as ArrayLike<number>;
}

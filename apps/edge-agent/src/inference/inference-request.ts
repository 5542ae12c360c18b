/**
 * The body of `POST /infer`, checked against the active model's inputs before anything runs:
 * `{ inputs: { <name>: { type, dims, data } }, label? }` with `data` a flat row-major array
 * (numbers; booleans for `bool`; strings for `string`; integers for int64/uint64).
 */
import type { Label } from '../telemetry/label.js';
import { elementCount, isNumericType, TYPED_ARRAYS, type Feeds, type InputSpec, type TensorData } from '../swap/tensors.js';

export interface InferenceRequest {
  readonly feeds: Feeds;
  readonly label?: Label;
}

export type ParsedRequest = { readonly ok: true; readonly value: InferenceRequest } | { readonly ok: false; readonly message: string };

const MAX_DIMS = 16;

export function parseInferenceRequest(body: unknown, inputs: readonly InputSpec[]): ParsedRequest {
  const fail = (message: string): ParsedRequest => ({ ok: false, message });
  if (!isObject(body)) return fail('the body must be a JSON object { inputs, label? }');
  const extra = Object.keys(body).filter((k) => k !== 'inputs' && k !== 'label');
  if (extra.length > 0) return fail(`unknown field ${extra[0]}; expected inputs and optional label`);
  if (!isObject(body.inputs)) return fail('inputs must be an object mapping input names to { type, dims, data }');
  const names = inputs.map((i) => i.name);
  const given = Object.keys(body.inputs);
  const unknown = given.find((n) => !names.includes(n));
  if (unknown !== undefined) return fail(`unknown input ${unknown}; the model's inputs are ${names.join(', ')}`);
  const missing = names.find((n) => !given.includes(n));
  if (missing !== undefined) return fail(`missing input ${missing}; the model's inputs are ${names.join(', ')}`);
  const feeds: Feeds = {};
  for (const spec of inputs) {
    const parsed = parseTensor(`inputs.${spec.name}`, body.inputs[spec.name], spec);
    if (typeof parsed === 'string') return fail(parsed);
    feeds[spec.name] = parsed;
  }
  if (body.label === undefined) return { ok: true, value: { feeds } };
  const label = body.label;
  const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (!isNumber(label) && !(Array.isArray(label) && label.length > 0 && label.every(isNumber))) {
    return fail('label must be a number (expected class index or value) or a non-empty array of numbers (expected values)');
  }
  return { ok: true, value: { feeds, label: label as Label } };
}

/** A tensor of the request, or the message saying what is wrong with it. */
function parseTensor(at: string, raw: unknown, spec: InputSpec): TensorData | string {
  if (!isObject(raw)) return `${at} must be an object { type, dims, data }`;
  const { type, dims, data } = raw;
  if (type !== spec.type || typeof type !== 'string') return `${at}.type must be ${spec.type}, got ${JSON.stringify(type)}`;
  if (!Array.isArray(dims) || dims.length > MAX_DIMS || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return `${at}.dims must be an array of at most ${MAX_DIMS} non-negative integers`;
  }
  const shape = spec.shape ?? [];
  if (dims.length !== shape.length) return `${at}.dims has ${dims.length} dimensions; the model expects ${shape.length} (${describeShape(shape)})`;
  const fixed = shape.findIndex((d, i) => typeof d === 'number' && d > 0 && d !== dims[i]);
  if (fixed !== -1) return `${at}.dims[${fixed}] is ${dims[fixed]}; the model expects ${shape[fixed]} (${describeShape(shape)})`;
  if (!Array.isArray(data)) return `${at}.data must be a flat array`;
  const size = elementCount(dims as number[]);
  if (data.length !== size) return `${at}.data has ${data.length} values; dims [${dims.join(', ')}] need ${size}`;
  if (type === 'string') {
    const bad = data.findIndex((v) => typeof v !== 'string');
    return bad === -1 ? { type, dims, data: data as string[] } : `${at}.data[${bad}] must be a string`;
  }
  if (!isNumericType(type) || type === 'float16') return `${at}.type ${type} is not supported over HTTP`;
  const values = new TYPED_ARRAYS[type](size);
  for (let i = 0; i < size; i++) {
    const v: unknown = data[i];
    if (type === 'bool') {
      if (typeof v !== 'boolean' && v !== 0 && v !== 1) return `${at}.data[${i}] must be true, false, 0 or 1`;
      values[i] = v === true || v === 1 ? 1 : 0;
    } else if (type === 'int64' || type === 'uint64') {
      if (!Number.isSafeInteger(v) || (type === 'uint64' && (v as number) < 0)) return `${at}.data[${i}] must be a${type === 'uint64' ? ' non-negative' : 'n'} integer`;
      (values as BigInt64Array)[i] = BigInt(v as number);
    } else {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${at}.data[${i}] must be a finite number`;
      (values as Float32Array)[i] = v;
    }
  }
  return { type, dims, data: values };
}

/** Output tensors as JSON: 64-bit integers become numbers, or strings beyond 2^53. */
export function tensorToJson(t: TensorData): { type: string; dims: number[]; data: unknown[] } {
  const data = Array.from(t.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? (v >= -Number.MAX_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER ? Number(v) : v.toString()) : v));
  return { type: t.type, dims: [...t.dims], data };
}

function describeShape(shape: ReadonlyArray<number | string>): string {
  return `[${shape.map((d) => (typeof d === 'number' && d > 0 ? d : typeof d === 'string' && d !== '' ? d : '?')).join(', ')}]`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

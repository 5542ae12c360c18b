// A jest environment for specs that run onnxruntime-node. The native addon builds output tensors
// from the host realm's typed arrays, while jest runs each spec in its own vm context, so
// onnxruntime-common's `data instanceof Float32Array` check fails ("A float32 tensor's data must
// be type of function Float32Array()"). Jest already shares Buffer, ArrayBuffer and Uint8Array with
// the host for the same reason; this shares the other typed arrays too.
// Use it with a docblock at the top of a spec: `/** @jest-environment <path from the project root> */`.
import { TestEnvironment } from 'jest-environment-node';

const TYPED_ARRAYS = [
  'Int8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

export default class OnnxTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

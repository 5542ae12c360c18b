/**
 * Small, valid ONNX models built in code, so tests need no model files and no downloads. Each
 * model adds a constant to its input, so an inference result tells which version answered
 * (v1 adds 1, v2 adds 2).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** A tensor dimension: a fixed size, or a symbolic name (`'batch'`) resolved at run time. */
export type Dim = number | string;

export interface AddModelOptions {
  /** The constant added to every element of the input. */
  readonly addend: number;
  /** Name of the float32 input. Default `x`. */
  readonly inputName?: string;
  /** Name of the float32 output. Default `y`. */
  readonly outputName?: string;
  /** Shape of input and output. Default `[1, 4]`. */
  readonly shape?: readonly Dim[];
  /** ONNX opset of the default domain. Default 13. */
  readonly opset?: number;
}

export interface SlowModelOptions {
  /** The constant added after the MatMul chain, so results still tell versions apart. */
  readonly addend: number;
  /** Width of the input `[1, size]` and of the square weight matrix. Default 256. */
  readonly size?: number;
  /** How many MatMul nodes are chained; each costs `size²` multiply-adds. Default 32. */
  readonly depth?: number;
  readonly inputName?: string;
  readonly outputName?: string;
  readonly opset?: number;
}

/** Tensor element types by their onnxruntime name. */
export const ELEMENT_TYPES = {
  float32: onnx.TensorProto.DataType.FLOAT,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  uint16: onnx.TensorProto.DataType.UINT16,
  int16: onnx.TensorProto.DataType.INT16,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  string: onnx.TensorProto.DataType.STRING,
  bool: onnx.TensorProto.DataType.BOOL,
  float16: onnx.TensorProto.DataType.FLOAT16,
  float64: onnx.TensorProto.DataType.DOUBLE,
  uint32: onnx.TensorProto.DataType.UINT32,
  uint64: onnx.TensorProto.DataType.UINT64,
} as const;
export type ElementType = keyof typeof ELEMENT_TYPES;

export interface IdentityInput {
  readonly name: string;
  readonly type: ElementType;
  readonly shape: readonly Dim[];
}

const IR_VERSION = 8;

/** `y = x + addend` on float32 tensors: one `Add` node with a scalar initializer. */
export function makeAddModel(options: AddModelOptions): Buffer {
  const { addend, inputName = 'x', outputName = 'y', shape = [1, 4], opset = 13 } = options;
  return encodeModel({
    opset,
    docString: `adds ${addend}`,
    inputs: [valueInfo(inputName, shape)],
    outputs: [valueInfo(outputName, shape)],
    initializers: [floatTensor('addend', [], [addend])],
    nodes: [{ opType: 'Add', input: [inputName, 'addend'], output: [outputName], name: 'add' }],
  });
}

/**
 * `y = x · I · I · … · I + addend` with `depth` MatMul nodes over one shared `size × size`
 * identity matrix: the result equals `x + addend` but each inference does `depth · size²`
 * multiply-adds, so it takes measurably longer than the add model. The file stays small
 * (one `size²` initializer).
 */
export function makeSlowModel(options: SlowModelOptions): Buffer {
  const { addend, size = 256, depth = 32, inputName = 'x', outputName = 'y', opset = 13 } = options;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`depth must be a positive integer, got ${depth}`);
  const identity = new Array<number>(size * size).fill(0);
  for (let i = 0; i < size; i++) identity[i * size + i] = 1;
  const nodes = [];
  let previous = inputName;
  for (let i = 0; i < depth; i++) {
    const out = `h${i}`;
    nodes.push({ opType: 'MatMul', input: [previous, 'identity'], output: [out], name: `matmul${i}` });
    previous = out;
  }
  nodes.push({ opType: 'Add', input: [previous, 'addend'], output: [outputName], name: 'add' });
  return encodeModel({
    opset,
    docString: `matmul chain of ${depth} × ${size}, adds ${addend}`,
    inputs: [valueInfo(inputName, [1, size])],
    outputs: [valueInfo(outputName, [1, size])],
    initializers: [floatTensor('identity', [size, size], identity), floatTensor('addend', [], [addend])],
    nodes,
  });
}

/**
 * One `Identity` node per input (output `<name>_out`), for tests that need inputs of many element
 * types and shapes, such as warm-up input generation.
 */
export function makeIdentityModel(inputs: readonly IdentityInput[], opset = 13): Buffer {
  return encodeModel({
    opset,
    docString: 'identity',
    inputs: inputs.map((i) => valueInfo(i.name, i.shape, ELEMENT_TYPES[i.type])),
    outputs: inputs.map((i) => valueInfo(`${i.name}_out`, i.shape, ELEMENT_TYPES[i.type])),
    initializers: [],
    nodes: inputs.map((i) => ({ opType: 'Identity', input: [i.name], output: [`${i.name}_out`], name: `identity_${i.name}` })),
  });
}

interface GraphSpec {
  readonly opset: number;
  readonly docString: string;
  readonly inputs: onnxProto.onnx.IValueInfoProto[];
  readonly outputs: onnxProto.onnx.IValueInfoProto[];
  readonly initializers: onnxProto.onnx.ITensorProto[];
  readonly nodes: onnxProto.onnx.INodeProto[];
}

function encodeModel(spec: GraphSpec): Buffer {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'hotswap-testing',
    producerVersion: '1',
    docString: spec.docString,
    opsetImport: [{ domain: '', version: spec.opset }],
    graph: {
      name: 'main',
      node: spec.nodes,
      initializer: spec.initializers,
      input: spec.inputs,
      output: spec.outputs,
    },
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

function valueInfo(name: string, shape: readonly Dim[], elemType: number = onnx.TensorProto.DataType.FLOAT): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function floatTensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values };
}

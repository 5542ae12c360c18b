import onnxProto from 'onnx-proto';
import type { Readable } from 'node:stream';
import { ByteReader } from './byte-reader.js';

const { onnx } = onnxProto;

/** The bytes are not a well-formed protobuf ModelProto; the message says where and why. */
export class OnnxFormatError extends Error {
  override readonly name = 'OnnxFormatError';
}

/** What inspection needs from a ModelProto; tensor data is never read. */
export interface OnnxSummary {
  readonly irVersion: number;
  readonly hasGraph: boolean;
  readonly nodeCount: number;
  readonly inputs: readonly onnxProto.onnx.IValueInfoProto[];
  readonly outputs: readonly onnxProto.onnx.IValueInfoProto[];
  readonly initializerNames: ReadonlySet<string>;
  readonly opsetImports: readonly onnxProto.onnx.IOperatorSetIdProto[];
}

/**
 * Largest sub-message decoded in memory (a graph input or output, an opset import, a tensor
 * name), in bytes. Anything larger in those places is not a real model.
 */
export const MAX_DECODED_FIELD_BYTES = 16 * 1024 * 1024;

// Field numbers from onnx.proto3.
const MODEL = { irVersion: 1, graph: 7, opsetImport: 8 } as const;
const GRAPH = { node: 1, initializer: 5, input: 11, output: 12 } as const;
const TENSOR = { name: 8 } as const;

const WIRE = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

interface FieldVisitor {
  varint?(field: number, value: number): void;
  /** Must consume exactly `length` bytes; fields without a handler are skipped. */
  lengthDelimited?(field: number, length: number, end: number): Promise<boolean>;
}

/**
 * Walks a ModelProto on the wire, top-level field by field, decoding only the small parts (graph
 * inputs, outputs, opset imports, initializer names) and skipping the rest (node bodies, tensor
 * data) as it streams by, so a multi-GB model is inspected in bounded memory.
 * @throws OnnxFormatError
 */
export async function readOnnxModel(source: Readable, sizeBytes: number): Promise<OnnxSummary> {
  const reader = new ByteReader(source);
  let irVersion = 0;
  let hasGraph = false;
  let nodeCount = 0;
  const inputs: onnxProto.onnx.IValueInfoProto[] = [];
  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  const initializerNames = new Set<string>();
  const opsetImports: onnxProto.onnx.IOperatorSetIdProto[] = [];

  const small = async (what: string, length: number): Promise<Buffer> => {
    if (length > MAX_DECODED_FIELD_BYTES) {
      throw new OnnxFormatError(`${what} at byte ${reader.position} is ${length} bytes, more than the ${MAX_DECODED_FIELD_BYTES} expected`);
    }
    return reader.bytes(length);
  };
  const decode = <T>(what: string, decoder: () => T): T => {
    try {
      return decoder();
    } catch (error) {
      throw new OnnxFormatError(`${what} does not decode: ${(error as Error).message}`, { cause: error });
    }
  };

  const graph: FieldVisitor = {
    async lengthDelimited(field, length, end) {
      switch (field) {
        case GRAPH.node:
          nodeCount++;
          return false;
        case GRAPH.input:
        case GRAPH.output: {
          const bytes = await small('a graph input or output', length);
          const value = decode('a graph input or output', () => onnx.ValueInfoProto.decode(bytes));
          (field === GRAPH.input ? inputs : outputs).push(value);
          return true;
        }
        case GRAPH.initializer:
          await walk(reader, end, {
            async lengthDelimited(tensorField, tensorLength) {
              if (tensorField !== TENSOR.name) return false;
              initializerNames.add((await small('an initializer name', tensorLength)).toString('utf8'));
              return true;
            },
          });
          return true;
        default:
          return false;
      }
    },
  };

  try {
    await walk(reader, sizeBytes, {
      varint(field, value) {
        if (field === MODEL.irVersion) irVersion = value;
      },
      async lengthDelimited(field, length, end) {
        if (field === MODEL.graph) {
          hasGraph = true;
          await walk(reader, end, graph);
          return true;
        }
        if (field === MODEL.opsetImport) {
          const bytes = await small('an opset import', length);
          opsetImports.push(decode('an opset import', () => onnx.OperatorSetIdProto.decode(bytes)));
          return true;
        }
        return false;
      },
    });
    if (!(await reader.atEnd())) throw new OnnxFormatError(`bytes follow the end of the message at byte ${sizeBytes}`);
  } catch (error) {
    if (error instanceof OnnxFormatError) throw error;
    throw new OnnxFormatError((error as Error).message, { cause: error });
  } finally {
    reader.close();
  }
  return { irVersion, hasGraph, nodeCount, inputs, outputs, initializerNames, opsetImports };
}

/** Reads the fields of one message, from the reader's position up to byte `end`. */
async function walk(reader: ByteReader, end: number, visitor: FieldVisitor): Promise<void> {
  while (reader.position < end) {
    const at = reader.position;
    const key = await reader.varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw new OnnxFormatError(`field number 0 at byte ${at}`);
    switch (wireType) {
      case WIRE.varint: {
        // Read before the optional call: `visitor.varint?.(…)` would skip evaluating its argument.
        const value = await reader.varint();
        visitor.varint?.(field, value);
        break;
      }
      case WIRE.fixed64:
        await reader.skip(8);
        break;
      case WIRE.fixed32:
        await reader.skip(4);
        break;
      case WIRE.lengthDelimited: {
        const length = await reader.varint();
        const fieldEnd = reader.position + length;
        if (fieldEnd > end) {
          throw new OnnxFormatError(`field ${field} at byte ${at} claims ${length} bytes, past the end of its message at byte ${end}`);
        }
        const handled = (await visitor.lengthDelimited?.(field, length, fieldEnd)) ?? false;
        if (!handled) await reader.skip(length);
        if (reader.position !== fieldEnd) throw new OnnxFormatError(`field ${field} at byte ${at} does not end at byte ${fieldEnd}`);
        break;
      }
      default:
        throw new OnnxFormatError(`invalid wire type ${wireType} at byte ${at}`);
    }
    if (reader.position > end) throw new OnnxFormatError(`a field at byte ${at} runs past the end of its message at byte ${end}`);
  }
}

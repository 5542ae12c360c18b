import onnxProto from 'onnx-proto';
import type { Readable } from 'node:stream';
import type { Framework, ModelMetadata, TensorSpec } from '@hotswap/contracts';

const { onnx } = onnxProto;

/** Why an artifact does not hold what its declared framework says; becomes a 400. */
export class InvalidArtifactError extends Error {
  override readonly name = 'InvalidArtifactError';
  readonly code = 'BAD_REQUEST';
}

/**
 * The largest ONNX file parsed in memory. The walking skeleton decodes the ModelProto whole;
 * streaming inspection of multi-GB artifacts is part of the registry issue.
 */
export const MAX_INSPECTED_BYTES = 512 * 1024 * 1024;

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const PICKLE_PROTOCOL_MAGIC = 0x80;

/** Checks that the artifact matches its framework and reads what metadata it can from it. */
export async function inspectArtifact(framework: Framework, source: Readable, sizeBytes: number): Promise<ModelMetadata> {
  if (framework === 'onnx') {
    if (sizeBytes > MAX_INSPECTED_BYTES) {
      throw new InvalidArtifactError(`ONNX artifacts above ${MAX_INSPECTED_BYTES} bytes cannot be inspected yet`);
    }
    return inspectOnnx(await readAll(source));
  }
  const head = await readHead(source, 4);
  const isZip = head.length >= 4 && head.subarray(0, 4).equals(ZIP_MAGIC);
  if (framework === 'pytorch' && (isZip || head[0] === PICKLE_PROTOCOL_MAGIC)) return {};
  if ((framework === 'zip' || framework === 'tensorflow') && isZip) return {};
  throw new InvalidArtifactError(`artifact declared as ${framework} does not have the ${framework === 'pytorch' ? 'zip or pickle' : 'zip'} layout`);
}

export function inspectOnnx(bytes: Buffer): ModelMetadata {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new InvalidArtifactError(`artifact declared as onnx is not an ONNX ModelProto: ${(error as Error).message}`, { cause: error });
  }
  const irVersion = Number(model.irVersion ?? 0);
  const graph = model.graph;
  if (irVersion <= 0 || !graph || (graph.node ?? []).length === 0 || (graph.output ?? []).length === 0) {
    throw new InvalidArtifactError(
      'artifact declared as onnx is not an ONNX model: ' +
        (irVersion <= 0 ? 'ir_version is missing' : !graph ? 'graph is missing' : 'graph has no nodes or outputs'),
    );
  }
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  return {
    inputSchema: (graph.input ?? []).filter((v) => !initializers.has(v.name)).map(tensorSpec),
    outputSchema: (graph.output ?? []).map(tensorSpec),
    ...(opset?.version !== undefined && opset.version !== null ? { opset: Number(opset.version) } : {}),
  };
}

const ELEMENT_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

function tensorSpec(value: onnxProto.onnx.IValueInfoProto): TensorSpec {
  const tensor = value.type?.tensorType;
  return {
    name: value.name ?? '',
    type: ELEMENT_TYPES[tensor?.elemType ?? 0] ?? 'unknown',
    shape: (tensor?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : -1)),
  };
}

async function readAll(source: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readHead(source: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  for await (const chunk of source) {
    chunks.push(chunk as Buffer);
    have += (chunk as Buffer).length;
    if (have >= bytes) break;
  }
  source.destroy();
  return Buffer.concat(chunks).subarray(0, bytes);
}

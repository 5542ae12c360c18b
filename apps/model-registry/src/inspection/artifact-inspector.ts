import { Readable } from 'node:stream';
import type { Framework, ModelMetadata, TensorSpec } from '@hotswap/contracts';
import type { ArtifactStore } from '@hotswap/infrastructure';
import type onnxProto from 'onnx-proto';
import { OnnxFormatError, readOnnxModel, type OnnxSummary } from './onnx-reader.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory, ZipFormatError, type ZipEntry, type ZipLimits } from './zip-reader.js';

/** Why an artifact does not hold what its declared framework says; becomes a 400. */
export class InvalidArtifactError extends Error {
  override readonly name = 'InvalidArtifactError';
  readonly code = 'BAD_REQUEST';
}

/** Bounds of inspection; ZIP artifacts are checked against them before anything trusts them. */
export type InspectionLimits = ZipLimits;
export const DEFAULT_INSPECTION_LIMITS: InspectionLimits = DEFAULT_ZIP_LIMITS;

/** The artifact being inspected: its size and a way to read it, whole or by byte range. */
export interface ArtifactSource {
  readonly sizeBytes: number;
  /** Opens the artifact, or the byte range `[start, end]` (both inclusive). */
  open(range?: { start: number; end: number }): Promise<Readable>;
}

/** The artifact stored under `key` as an `ArtifactSource`. */
export function storedArtifactSource(store: ArtifactStore, key: string, sizeBytes: number): ArtifactSource {
  return { sizeBytes, open: (range) => store.get(key, range) };
}

/** An artifact held in memory (tests, small files) as an `ArtifactSource`. */
export function bufferArtifactSource(bytes: Buffer): ArtifactSource {
  return {
    sizeBytes: bytes.length,
    open: async (range) => Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]),
  };
}

const ZIP_MAGIC = [Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('PK\x05\x06', 'latin1')];
const PICKLE_PROTO = 0x80;
const HEAD_BYTES = 8;

type Content = 'onnx' | 'tensorflow' | 'pytorch-zip' | 'pickle' | 'zip';

const CONTENT_NAMES: Record<Content, string> = {
  onnx: 'an ONNX model',
  tensorflow: 'a TensorFlow SavedModel',
  'pytorch-zip': 'a PyTorch archive (data.pkl)',
  pickle: 'a pickle (legacy PyTorch) file',
  zip: 'a ZIP archive',
};

/** Which declared frameworks each kind of content satisfies. */
const ACCEPTS: Record<Framework, readonly Content[]> = {
  onnx: ['onnx'],
  tensorflow: ['tensorflow'],
  pytorch: ['pytorch-zip', 'pickle'],
  zip: ['zip', 'tensorflow', 'pytorch-zip'],
};

/**
 * Checks that the artifact matches its declared framework and reads what metadata it can, in
 * bounded memory whatever the artifact's size: an ONNX ModelProto is walked on the wire as it
 * streams by (its tensor data skipped, never buffered); a ZIP is judged from its central
 * directory, read by byte range from the end of the file.
 * @throws InvalidArtifactError naming the declared framework and what the artifact is instead
 */
export async function inspectArtifact(
  framework: Framework,
  source: ArtifactSource,
  limits: InspectionLimits = DEFAULT_INSPECTION_LIMITS,
): Promise<ModelMetadata> {
  const declared = `artifact declared as ${framework}`;
  if (source.sizeBytes === 0) throw new InvalidArtifactError(`${declared} is empty (0 bytes)`);
  const head = await readHead(source);

  if (ZIP_MAGIC.some((magic) => head.subarray(0, 4).equals(magic))) {
    if (framework === 'onnx') throw mismatch(framework, 'zip');
    let entries: ZipEntry[];
    try {
      entries = await readZipDirectory((range) => source.open(range), source.sizeBytes, limits);
    } catch (error) {
      if (!(error instanceof ZipFormatError)) throw error;
      throw new InvalidArtifactError(`${declared} is not a safe ZIP archive: ${error.message}`, { cause: error });
    }
    const content = zipContent(entries);
    if (ACCEPTS[framework].includes(content)) return {};
    if (content !== 'zip') throw mismatch(framework, content);
    throw new InvalidArtifactError(
      framework === 'tensorflow'
        ? `${declared} is not a TensorFlow SavedModel: the ZIP needs saved_model.pb and a variables/ folder beside it`
        : `${declared} is a ZIP without data.pkl, so neither the TorchScript nor the zip-pickle layout`,
    );
  }

  if (head[0] === PICKLE_PROTO && head[1] >= 2 && head[1] <= 5) {
    if (framework === 'pytorch') return {};
    throw mismatch(framework, 'pickle');
  }

  let summary: OnnxSummary;
  try {
    summary = await readOnnxModel(await source.open(), source.sizeBytes);
  } catch (error) {
    if (!(error instanceof OnnxFormatError)) throw error;
    if (framework === 'onnx') {
      throw new InvalidArtifactError(`${declared} is not an ONNX ModelProto: ${error.message}`, { cause: error });
    }
    throw notLayout(framework, head);
  }
  const problem = onnxProblem(summary);
  if (framework !== 'onnx') {
    if (problem === undefined) throw mismatch(framework, 'onnx');
    throw notLayout(framework, head);
  }
  if (problem !== undefined) throw new InvalidArtifactError(`${declared} is not an ONNX model: ${problem}`);
  const opset = summary.opsetImports.find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    inputSchema: summary.inputs.filter((v) => !summary.initializerNames.has(v.name ?? '')).map(tensorSpec),
    outputSchema: summary.outputs.map(tensorSpec),
    ...(opset?.version !== undefined && opset.version !== null ? { opset: Number(opset.version) } : {}),
  };
}

/** Inspects an ONNX model held in memory (a convenience over `inspectArtifact`). */
export function inspectOnnx(bytes: Buffer): Promise<ModelMetadata> {
  return inspectArtifact('onnx', bufferArtifactSource(bytes));
}

function mismatch(framework: Framework, content: Content): InvalidArtifactError {
  return new InvalidArtifactError(`declared ${framework}, but the artifact is ${CONTENT_NAMES[content]}`);
}

function notLayout(framework: Framework, head: Buffer): InvalidArtifactError {
  const layout = framework === 'pytorch' ? 'zip or pickle' : framework === 'onnx' ? 'ONNX' : 'zip';
  return new InvalidArtifactError(
    `artifact declared as ${framework} does not have the ${layout} layout (it starts with bytes ${head.toString('hex').replace(/(..)(?!$)/g, '$1 ')})`,
  );
}

function onnxProblem(summary: OnnxSummary): string | undefined {
  if (summary.irVersion <= 0) return 'ir_version is missing';
  if (!summary.hasGraph) return 'graph is missing';
  if (summary.nodeCount === 0 || summary.outputs.length === 0) return 'graph has no nodes or outputs';
  return undefined;
}

/**
 * What a ZIP holds: a SavedModel has `saved_model.pb` with `variables/` beside it; a PyTorch file
 * (TorchScript or zip-pickle) has `data.pkl` at the top or in its one top-level folder.
 */
function zipContent(entries: readonly ZipEntry[]): Content {
  const names = entries.map((e) => e.name);
  for (const name of names) {
    const match = /^((?:[^/]+\/)?)saved_model\.pb$/.exec(name);
    if (match && names.some((other) => other.startsWith(`${match[1]}variables/`))) return 'tensorflow';
  }
  if (names.some((name) => /^(?:[^/]+\/)?data\.pkl$/.test(name))) return 'pytorch-zip';
  return 'zip';
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

async function readHead(source: ArtifactSource): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await source.open({ start: 0, end: Math.min(HEAD_BYTES, source.sizeBytes) - 1 })) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

import type { DatasetElementType } from '@hotswap/contracts';

/** An NPY file that cannot be read: bad magic, an unsupported dtype or layout, or too few bytes. */
export class NpyFormatError extends Error {
  override readonly name = 'NpyFormatError';
}

export interface NpyArray {
  readonly type: DatasetElementType;
  readonly shape: readonly number[];
  /** The values in C order. */
  readonly values: ArrayLike<number>;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** NPY `descr` (little-endian or byte-order-free) → element type and bytes per value. */
const DTYPES: Readonly<Record<string, readonly [DatasetElementType, number]>> = {
  '<f4': ['float32', 4], '<f8': ['float64', 8],
  '|i1': ['int8', 1], '|u1': ['uint8', 1], '<i2': ['int16', 2], '<u2': ['uint16', 2],
  '<i4': ['int32', 4], '<u4': ['uint32', 4], '<i8': ['int64', 8], '<u8': ['uint64', 8], '|b1': ['bool', 1],
};

/**
 * Parses an `.npy` file (format 1.0, 2.0 or 3.0): the magic, the version, a header dict with
 * `descr`, `fortran_order` and `shape`, then the raw values. Little-endian numeric dtypes and
 * C order only; 64-bit integers are read as numbers (exact up to 2^53).
 */
export function parseNpy(bytes: Buffer): NpyArray {
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC)) throw new NpyFormatError('not an NPY file (the magic "\\x93NUMPY" is missing)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new NpyFormatError(`NPY format version ${major}.${bytes[7]} is not supported (1.0 to 3.0 are)`);
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.length >= 12 ? bytes.readUInt32LE(8) : -1;
  const headerStart = major === 1 ? 10 : 12;
  if (headerLength < 0 || headerStart + headerLength > bytes.length) throw new NpyFormatError('the NPY header is truncated');
  const header = bytes.subarray(headerStart, headerStart + headerLength).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyFormatError(`the NPY header must hold descr, fortran_order and shape, got ${header.trim()}`);
  }
  const dtype = DTYPES[descr.replace(/^=/, '<')];
  if (!dtype) throw new NpyFormatError(`NPY dtype ${descr} is not supported (little-endian ${Object.keys(DTYPES).join(', ')})`);
  if (fortran === 'True') throw new NpyFormatError('NPY arrays in Fortran order are not supported; save the array in C order');
  const shape = shapeText.split(',').map((d) => d.trim()).filter((d) => d !== '').map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new NpyFormatError(`the NPY shape (${shapeText}) is not a list of sizes`);
  const [type, width] = dtype;
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length - dataStart !== count * width) {
    throw new NpyFormatError(`the NPY data holds ${bytes.length - dataStart} bytes, shape (${shape.join(', ')}) of ${descr} needs ${count * width}`);
  }
  // Copy into an aligned buffer: typed arrays need their offset to be a multiple of the width.
  const data = new Uint8Array(bytes.subarray(dataStart)).buffer;
  return { type, shape, values: valuesOf(type, data) };
}

function valuesOf(type: DatasetElementType, data: ArrayBuffer): ArrayLike<number> {
  switch (type) {
    case 'float32': return new Float32Array(data);
    case 'float64': return new Float64Array(data);
    case 'int8': return new Int8Array(data);
    case 'uint8': case 'bool': return new Uint8Array(data);
    case 'int16': return new Int16Array(data);
    case 'uint16': return new Uint16Array(data);
    case 'int32': return new Int32Array(data);
    case 'uint32': return new Uint32Array(data);
    case 'int64': return Float64Array.from(new BigInt64Array(data), Number);
    case 'uint64': return Float64Array.from(new BigUint64Array(data), Number);
  }
}

/** Splits an array along its first axis: one flat list of values per sample. */
export function samplesOf(array: NpyArray): { dims: number[]; rows: ArrayLike<number>[] } {
  const [samples = 0, ...dims] = array.shape;
  const size = dims.reduce((a, b) => a * b, 1);
  const rows = Array.from({ length: samples }, (_, i) => Array.prototype.slice.call(array.values, i * size, (i + 1) * size) as number[]);
  return { dims: dims.length > 0 ? dims : [1], rows };
}

/** Writes an `.npy` file (format 1.0, C order, little-endian); for tests and tools. */
export function writeNpy(type: DatasetElementType, shape: readonly number[], values: ArrayLike<number>): Buffer {
  const descr = Object.entries(DTYPES).find(([, [t]]) => t === type)![0];
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  MAGIC.copy(prefix);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = (() => {
    switch (type) {
      case 'float32': return Float32Array.from(values);
      case 'float64': return Float64Array.from(values);
      case 'int8': return Int8Array.from(values);
      case 'uint8': case 'bool': return Uint8Array.from(values);
      case 'int16': return Int16Array.from(values);
      case 'uint16': return Uint16Array.from(values);
      case 'int32': return Int32Array.from(values);
      case 'uint32': return Uint32Array.from(values);
      case 'int64': return BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
      case 'uint64': return BigUint64Array.from(Array.from(values, (v) => BigInt(v)));
    }
  })();
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
}

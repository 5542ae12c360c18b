import { crc32 } from 'node:zlib';

/** One entry of a test archive; `declared*` override what the central directory claims. */
export interface FixtureEntry {
  readonly name: string;
  readonly data?: Buffer;
  readonly declaredUncompressedBytes?: number;
  readonly declaredCompressedBytes?: number;
}

/**
 * Builds a ZIP archive of stored (uncompressed) entries, for tests and benchmarks. Declared sizes
 * can lie, which is how a zip bomb looks from its central directory.
 */
export function buildZip(entries: readonly FixtureEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = entry.data ?? Buffer.alloc(0);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(entry.declaredCompressedBytes ?? data.length, 20);
    central.writeUInt32LE(entry.declaredUncompressedBytes ?? data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A protobuf varint. */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function lengthDelimited(field: number, body: Buffer): Buffer {
  return Buffer.concat([varint(field * 8 + 2), varint(body.length), body]);
}

function text(field: number, value: string): Buffer {
  return lengthDelimited(field, Buffer.from(value, 'utf8'));
}

function valueInfo(name: string, dims: readonly number[]): Buffer {
  // ValueInfoProto { name=1, type=2 { tensor_type=1 { elem_type=1 (float32), shape=2 { dim=1 { dim_value=1 } } } } }
  const shape = Buffer.concat(dims.map((d) => lengthDelimited(1, Buffer.concat([varint(8), varint(d)]))));
  const tensorType = Buffer.concat([varint(8), varint(1), lengthDelimited(2, shape)]);
  return Buffer.concat([text(1, name), lengthDelimited(2, lengthDelimited(1, tensorType))]);
}

/**
 * A valid ONNX model `y = x + w` whose initializer `w` carries `dataBytes` bytes of raw tensor
 * data, in three parts so the data can be streamed without being held: `head`, then `dataBytes`
 * bytes of anything, then `tail` (the graph's inputs and outputs come after the data).
 */
export function largeOnnxModel(dataBytes: number): { head: Buffer; tail: Buffer; sizeBytes: number } {
  const node = Buffer.concat([text(1, 'x'), text(1, 'w'), text(2, 'y'), text(3, 'add'), text(4, 'Add')]);
  const tensorHead = Buffer.concat([varint(8), varint(dataBytes / 4), varint(16), varint(1), text(8, 'w')]);
  const rawHead = Buffer.concat([varint(9 * 8 + 2), varint(dataBytes)]);
  const tensorLength = tensorHead.length + rawHead.length + dataBytes;
  const io = Buffer.concat([
    lengthDelimited(11, valueInfo('x', [dataBytes / 4])),
    lengthDelimited(12, valueInfo('y', [dataBytes / 4])),
  ]);
  const graphStart = Buffer.concat([lengthDelimited(1, node), text(2, 'large'), varint(5 * 8 + 2), varint(tensorLength), tensorHead, rawHead]);
  const graphLength = graphStart.length + dataBytes + io.length;
  const head = Buffer.concat([
    varint(8), varint(8),
    lengthDelimited(8, Buffer.concat([text(1, ''), varint(16), varint(13)])),
    varint(7 * 8 + 2), varint(graphLength),
    graphStart,
  ]);
  return { head, tail: io, sizeBytes: head.length + dataBytes + io.length };
}

import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { makeAddModel } from '@hotswap/infrastructure/testing';
import {
  bufferArtifactSource, inspectArtifact, inspectOnnx, InvalidArtifactError, type ArtifactSource,
} from './artifact-inspector.js';
import { buildZip, largeOnnxModel } from './fixtures.js';

const savedModel = () => buildZip([
  { name: 'model/saved_model.pb', data: Buffer.from('graph') },
  { name: 'model/variables/' },
  { name: 'model/variables/variables.index', data: Buffer.from('index') },
]);
const torchZip = () => buildZip([{ name: 'archive/data.pkl', data: Buffer.from([0x80, 0x02]) }, { name: 'archive/version', data: Buffer.from('3') }]);
const torchScript = () => buildZip([
  { name: 'model/code/__torch__.py', data: Buffer.from('def forward') },
  { name: 'model/data.pkl', data: Buffer.from([0x80, 0x02]) },
  { name: 'model/constants.pkl', data: Buffer.from([0x80, 0x02]) },
]);
const plainZip = () => buildZip([{ name: 'README.txt', data: Buffer.from('hello') }]);

async function refusal(framework: Parameters<typeof inspectArtifact>[0], bytes: Buffer, limits?: Parameters<typeof inspectArtifact>[2]): Promise<string> {
  try {
    await inspectArtifact(framework, bufferArtifactSource(bytes), limits);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArtifactError);
    expect((error as InvalidArtifactError).code).toBe('BAD_REQUEST');
    return (error as Error).message;
  }
  throw new Error('the artifact was accepted');
}

describe('ONNX inspection', () => {
  it('reads the input and output schema and the opset of a ModelProto, leaving out initializers', async () => {
    expect(await inspectOnnx(makeAddModel({ addend: 1, opset: 17 }))).toEqual({
      inputSchema: [{ name: 'x', type: 'float32', shape: [1, 4] }],
      outputSchema: [{ name: 'y', type: 'float32', shape: [1, 4] }],
      opset: 17,
    });
  });

  it('walks a model whose 1 GiB initializer streams by without being held in memory', async () => {
    const dataBytes = 1024 ** 3;
    const { head, tail, sizeBytes } = largeOnnxModel(dataBytes);
    const block = Buffer.alloc(1024 * 1024);
    async function* body() {
      yield head;
      for (let sent = 0; sent < dataBytes; sent += block.length) yield block;
      yield tail;
    }
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const source: ArtifactSource = {
      sizeBytes,
      open: async (range) => (range ? Readable.from([head.subarray(range.start, range.end + 1)]) : Readable.from(body())),
    };
    try {
      expect(await inspectArtifact('onnx', source)).toEqual({
        inputSchema: [{ name: 'x', type: 'float32', shape: [dataBytes / 4] }],
        outputSchema: [{ name: 'y', type: 'float32', shape: [dataBytes / 4] }],
        opset: 13,
      });
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).toBeLessThan(100 * 1024 * 1024);
  });

  it.each([
    ['text', Buffer.from('definitely not protobuf'), /^artifact declared as onnx is not an ONNX ModelProto: invalid wire type 4 at byte 0$/],
    ['an empty protobuf', Buffer.from([0x08, 0x00]), /^artifact declared as onnx is not an ONNX model: ir_version is missing$/],
    ['a model without a graph', Buffer.from([0x08, 0x08]), /is not an ONNX model: graph is missing$/],
    ['a graph without nodes', Buffer.from([0x08, 0x08, 0x3a, 0x00]), /is not an ONNX model: graph has no nodes or outputs$/],
    ['a field longer than the file', Buffer.from([0x08, 0x08, 0x3a, 0x10, 0x00]), /field 7 at byte 2 claims 16 bytes, past the end of its message at byte 5$/],
    ['a truncated model', makeAddModel({ addend: 1 }).subarray(0, 40), /is not an ONNX ModelProto: field \d+ at byte \d+ claims/],
    ['field number 0', Buffer.from([0x00, 0x01]), /field number 0 at byte 0$/],
    ['a malformed varint', Buffer.alloc(12, 0xff).fill(0x08, 0, 1), /malformed varint/],
    ['a graph input that is not a ValueInfoProto', Buffer.from([0x08, 0x08, 0x3a, 0x03, 0x5a, 0x01, 0xff]), /a graph input or output does not decode/],
  ])('refuses %s declared as onnx, saying what is wrong', async (_label, bytes, message) => {
    expect(await refusal('onnx', bytes)).toMatch(message);
  });

  it('refuses an empty file, whatever the framework', async () => {
    expect(await refusal('onnx', Buffer.alloc(0))).toBe('artifact declared as onnx is empty (0 bytes)');
    expect(await refusal('zip', Buffer.alloc(0))).toBe('artifact declared as zip is empty (0 bytes)');
  });

  it('skips fixed-width and unknown fields', async () => {
    const model = makeAddModel({ addend: 2 });
    // field 100, fixed64 and fixed32, before the model's own fields
    const extra = Buffer.concat([Buffer.from([0xa1, 0x06]), Buffer.alloc(8), Buffer.from([0xa5, 0x06]), Buffer.alloc(4)]);
    expect((await inspectOnnx(Buffer.concat([extra, model]))).opset).toBe(13);
  });
});

describe('framework detection', () => {
  it.each([
    ['tensorflow', savedModel()],
    ['pytorch', torchZip()],
    ['pytorch', torchScript()],
    ['pytorch', Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00])],
    ['zip', plainZip()],
    ['zip', savedModel()],
    ['zip', buildZip([])],
  ] as const)('accepts %s content declared as %s', async (framework, bytes) => {
    expect(await inspectArtifact(framework, bufferArtifactSource(bytes))).toEqual({});
  });

  it.each([
    ['pytorch', makeAddModel({ addend: 1 }), 'declared pytorch, but the artifact is an ONNX model'],
    ['zip', makeAddModel({ addend: 1 }), 'declared zip, but the artifact is an ONNX model'],
    ['tensorflow', makeAddModel({ addend: 1 }), 'declared tensorflow, but the artifact is an ONNX model'],
    ['onnx', savedModel(), 'declared onnx, but the artifact is a ZIP archive'],
    ['tensorflow', torchZip(), 'declared tensorflow, but the artifact is a PyTorch archive (data.pkl)'],
    ['pytorch', savedModel(), 'declared pytorch, but the artifact is a TensorFlow SavedModel'],
    ['zip', Buffer.from([0x80, 0x04, 0x95]), 'declared zip, but the artifact is a pickle (legacy PyTorch) file'],
    ['tensorflow', plainZip(), 'artifact declared as tensorflow is not a TensorFlow SavedModel: the ZIP needs saved_model.pb and a variables/ folder beside it'],
    ['tensorflow', buildZip([{ name: 'saved_model.pb', data: Buffer.from('g') }]), 'artifact declared as tensorflow is not a TensorFlow SavedModel: the ZIP needs saved_model.pb and a variables/ folder beside it'],
    ['pytorch', plainZip(), 'artifact declared as pytorch is a ZIP without data.pkl, so neither the TorchScript nor the zip-pickle layout'],
    ['pytorch', Buffer.from('hello'), 'artifact declared as pytorch does not have the zip or pickle layout (it starts with bytes 68 65 6c 6c 6f)'],
    ['zip', Buffer.from([0x08, 0x00]), 'artifact declared as zip does not have the zip layout (it starts with bytes 08 00)'],
  ] as const)('refuses %s declared for other content, naming both', async (framework, bytes, message) => {
    expect(await refusal(framework, bytes)).toBe(message);
  });
});

describe('ZIP safety', () => {
  const limits = { maxEntries: 3, maxUncompressedBytes: 10 * 1024 * 1024, maxCompressionRatio: 100 };

  it.each([
    ['a ".." entry', [{ name: 'model/../../etc/passwd', data: Buffer.from('x') }], 'entry "model/../../etc/passwd" has a ".." path segment (path traversal)'],
    ['a backslash ".." entry', [{ name: '..\\evil.dll', data: Buffer.from('x') }], 'entry "../evil.dll" has a ".." path segment (path traversal)'],
    ['an absolute entry', [{ name: '/etc/cron.d/x', data: Buffer.from('x') }], 'entry "/etc/cron.d/x" has an absolute path (path traversal)'],
    ['a drive-letter entry', [{ name: 'C:/Windows/x', data: Buffer.from('x') }], 'entry "C:/Windows/x" has an absolute path (path traversal)'],
    ['too many entries', ['a', 'b', 'c', 'd'].map((name) => ({ name })), 'it declares 4 entries, more than the limit of 3'],
    ['a declared total above the limit', [{ name: 'a', declaredUncompressedBytes: 6 * 1024 * 1024, declaredCompressedBytes: 6 * 1024 * 1024 }, { name: 'b', declaredUncompressedBytes: 6 * 1024 * 1024, declaredCompressedBytes: 6 * 1024 * 1024 }],
      `it declares more than ${10 * 1024 * 1024} bytes uncompressed, the limit (a zip bomb?)`],
    ['a compression ratio above the limit', [{ name: 'bomb', data: Buffer.alloc(1000), declaredCompressedBytes: 1000, declaredUncompressedBytes: 2 * 1024 * 1024 }],
      `entry "bomb" expands 1000 bytes to ${2 * 1024 * 1024}, a ratio above the limit of 100 (a zip bomb?)`],
  ])('refuses %s before anything is extracted', async (_label, entries, reason) => {
    expect(await refusal('zip', buildZip(entries), limits)).toBe(`artifact declared as zip is not a safe ZIP archive: ${reason}`);
  });

  it('refuses ZIPs whose directory is missing or corrupt', async () => {
    expect(await refusal('zip', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(20)]))).toBe(
      'artifact declared as zip is not a safe ZIP archive: it has no end of central directory record',
    );
    expect(await refusal('pytorch', Buffer.from('PK\x03\x04', 'latin1'))).toBe(
      'artifact declared as pytorch is not a safe ZIP archive: it is 4 bytes, too short for a ZIP archive',
    );
    const zip = plainZip();
    const corrupt = Buffer.from(zip);
    corrupt.writeUInt32LE(0, zip.length - 22 - 46 - 'README.txt'.length); // the central header's signature
    expect(await refusal('zip', corrupt)).toMatch(/its central directory (is corrupt at entry 0|lies outside the file)/);
    const outside = Buffer.from(zip);
    outside.writeUInt32LE(0xfffffff0, zip.length - 6); // directory offset
    expect(await refusal('zip', outside)).toMatch(/central directory lies outside the file|ZIP64 locator is missing/);
  });

  it('reads ZIP64 sizes from the extra field', async () => {
    // A ZIP64 archive with one entry whose sizes live in the extra field.
    const name = Buffer.from('big.bin');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(name.length, 26);
    const extra = Buffer.alloc(20);
    extra.writeUInt16LE(1, 0);
    extra.writeUInt16LE(16, 2);
    extra.writeBigUInt64LE(5n * 1024n ** 3n, 4);
    extra.writeBigUInt64LE(5n * 1024n ** 3n, 12);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt32LE(0xffffffff, 20);
    central.writeUInt32LE(0xffffffff, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    const directory = Buffer.concat([central, name, extra]);
    const directoryOffset = local.length + name.length;
    const zip64End = Buffer.alloc(56);
    zip64End.writeUInt32LE(0x06064b50, 0);
    zip64End.writeBigUInt64LE(1n, 24);
    zip64End.writeBigUInt64LE(1n, 32);
    zip64End.writeBigUInt64LE(BigInt(directory.length), 40);
    zip64End.writeBigUInt64LE(BigInt(directoryOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(directoryOffset + directory.length), 8);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(0xffff, 8);
    end.writeUInt16LE(0xffff, 10);
    end.writeUInt32LE(0xffffffff, 12);
    end.writeUInt32LE(0xffffffff, 16);
    const zip = Buffer.concat([local, name, directory, zip64End, locator, end]);

    expect(await inspectArtifact('zip', bufferArtifactSource(zip))).toEqual({});
    expect(await refusal('zip', zip, { maxEntries: 10, maxUncompressedBytes: 1024 ** 3, maxCompressionRatio: 100 })).toBe(
      `artifact declared as zip is not a safe ZIP archive: it declares more than ${1024 ** 3} bytes uncompressed, the limit (a zip bomb?)`,
    );
  });
});

import type { Readable } from 'node:stream';

/** The artifact is not a well-formed ZIP archive, or one that is unsafe to extract. */
export class ZipFormatError extends Error {
  override readonly name = 'ZipFormatError';
}

/** Bounds on what a ZIP artifact may declare; checked from its central directory alone. */
export interface ZipLimits {
  /** Most entries (files and directories) an archive may hold. */
  readonly maxEntries: number;
  /** Largest declared uncompressed total of all entries, in bytes. */
  readonly maxUncompressedBytes: number;
  /**
   * Largest uncompressed/compressed ratio, checked for any entry over 1 MiB uncompressed (small
   * files of zeros legitimately compress a lot).
   */
  readonly maxCompressionRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 100_000,
  maxUncompressedBytes: 64 * 1024 ** 3,
  maxCompressionRatio: 200,
};

export interface ZipEntry {
  /** Path inside the archive, with `/` separators; directories end with `/`. */
  readonly name: string;
  readonly compressedBytes: number;
  readonly uncompressedBytes: number;
}

/** Reads `[start, end]` (inclusive) of the artifact. */
export type RangeOpener = (range: { start: number; end: number }) => Promise<Readable>;

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_BYTES = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const ZIP64_EOCD_BYTES = 56;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const CENTRAL_HEADER_BYTES = 46;
const ZIP64_EXTRA_ID = 0x0001;
const MAX_COMMENT_BYTES = 0xffff;
const RATIO_CHECK_FLOOR = 1024 * 1024;
/** Central directory bytes allowed per permitted entry (header plus a long name and extras). */
const MAX_CENTRAL_BYTES_PER_ENTRY = 1024;

/**
 * Lists a ZIP archive's entries from its central directory, which sits at the end of the file:
 * two bounded range reads, never the whole archive. Refuses, before anything is extracted,
 * entries that would escape the extraction folder, too many entries, and zip bombs (a declared
 * uncompressed total or compression ratio above the limits).
 * @throws ZipFormatError
 */
export async function readZipDirectory(open: RangeOpener, sizeBytes: number, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipEntry[]> {
  if (sizeBytes < EOCD_BYTES) throw new ZipFormatError(`it is ${sizeBytes} bytes, too short for a ZIP archive`);
  const tailStart = Math.max(0, sizeBytes - EOCD_BYTES - MAX_COMMENT_BYTES - ZIP64_LOCATOR_BYTES);
  const tail = await readRange(open, tailStart, sizeBytes - 1);
  let eocd = -1;
  for (let i = tail.length - EOCD_BYTES; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE && i + EOCD_BYTES + tail.readUInt16LE(i + 20) === tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('it has no end of central directory record');

  let entryCount = tail.readUInt16LE(eocd + 10);
  let directoryBytes = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  let directoryLimit = tailStart + eocd;
  if (entryCount === 0xffff || directoryBytes === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - ZIP64_LOCATOR_BYTES;
    if (locator < 0 || tail.readUInt32LE(locator) !== ZIP64_LOCATOR_SIGNATURE) {
      throw new ZipFormatError('its end record points to a ZIP64 directory but the ZIP64 locator is missing');
    }
    const zip64At = readUInt64(tail, locator + 8);
    if (zip64At + ZIP64_EOCD_BYTES > tailStart + locator) throw new ZipFormatError('its ZIP64 end record lies outside the file');
    const zip64 = await readRange(open, zip64At, zip64At + ZIP64_EOCD_BYTES - 1);
    if (zip64.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw new ZipFormatError(`no ZIP64 end record at byte ${zip64At}`);
    entryCount = readUInt64(zip64, 32);
    directoryBytes = readUInt64(zip64, 40);
    directoryOffset = readUInt64(zip64, 48);
    directoryLimit = zip64At;
  }
  if (entryCount > limits.maxEntries) {
    throw new ZipFormatError(`it declares ${entryCount} entries, more than the limit of ${limits.maxEntries}`);
  }
  if (directoryOffset + directoryBytes > directoryLimit) {
    throw new ZipFormatError('its central directory lies outside the file');
  }
  if (directoryBytes > Math.max(entryCount, 1) * MAX_CENTRAL_BYTES_PER_ENTRY) {
    throw new ZipFormatError(`its central directory is ${directoryBytes} bytes for ${entryCount} entries`);
  }
  const directory = directoryBytes === 0 ? Buffer.alloc(0) : await readRange(open, directoryOffset, directoryOffset + directoryBytes - 1);

  const entries: ZipEntry[] = [];
  let uncompressedTotal = 0;
  let at = 0;
  for (let index = 0; index < entryCount; index++) {
    if (at + CENTRAL_HEADER_BYTES > directory.length || directory.readUInt32LE(at) !== CENTRAL_HEADER_SIGNATURE) {
      throw new ZipFormatError(`its central directory is corrupt at entry ${index}`);
    }
    let compressedBytes = directory.readUInt32LE(at + 20);
    let uncompressedBytes = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const next = at + CENTRAL_HEADER_BYTES + nameLength + extraLength + commentLength;
    if (next > directory.length) throw new ZipFormatError(`its central directory is corrupt at entry ${index}`);
    const name = directory.toString('utf8', at + CENTRAL_HEADER_BYTES, at + CENTRAL_HEADER_BYTES + nameLength).replace(/\\/g, '/');
    const extra = directory.subarray(at + CENTRAL_HEADER_BYTES + nameLength, at + CENTRAL_HEADER_BYTES + nameLength + extraLength);
    if (uncompressedBytes === 0xffffffff || compressedBytes === 0xffffffff) {
      // The ZIP64 extra field holds, in order, only the sizes that overflowed.
      const zip64 = findExtra(extra, ZIP64_EXTRA_ID);
      let field = 0;
      const take = () => {
        if (zip64 === undefined || field + 8 > zip64.length) throw new ZipFormatError(`entry "${name}" lacks its ZIP64 sizes`);
        const value = readUInt64(zip64, field);
        field += 8;
        return value;
      };
      if (uncompressedBytes === 0xffffffff) uncompressedBytes = take();
      if (compressedBytes === 0xffffffff) compressedBytes = take();
    }
    const unsafe = unsafePathReason(name);
    if (unsafe !== undefined) throw new ZipFormatError(`entry "${name}" ${unsafe}`);
    uncompressedTotal += uncompressedBytes;
    if (uncompressedTotal > limits.maxUncompressedBytes) {
      throw new ZipFormatError(
        `it declares more than ${limits.maxUncompressedBytes} bytes uncompressed, the limit (a zip bomb?)`,
      );
    }
    if (uncompressedBytes > RATIO_CHECK_FLOOR && uncompressedBytes > compressedBytes * limits.maxCompressionRatio) {
      throw new ZipFormatError(
        `entry "${name}" expands ${compressedBytes} bytes to ${uncompressedBytes}, ` +
          `a ratio above the limit of ${limits.maxCompressionRatio} (a zip bomb?)`,
      );
    }
    entries.push({ name, compressedBytes, uncompressedBytes });
    at = next;
  }
  return entries;
}

/** Why extracting an entry of this name could write outside the target folder, if it could. */
function unsafePathReason(name: string): string | undefined {
  if (name === '') return 'has an empty name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'has an absolute path (path traversal)';
  if (name.split('/').includes('..')) return 'has a ".." path segment (path traversal)';
  if (name.includes('\0')) return 'has a NUL character in its name';
  return undefined;
}

function findExtra(extra: Buffer, id: number): Buffer | undefined {
  for (let at = 0; at + 4 <= extra.length; ) {
    const size = extra.readUInt16LE(at + 2);
    if (extra.readUInt16LE(at) === id) return extra.subarray(at + 4, at + 4 + size);
    at += 4 + size;
  }
  return undefined;
}

function readUInt64(buffer: Buffer, at: number): number {
  const value = buffer.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError(`a 64-bit size at byte ${at} is too large`);
  return Number(value);
}

async function readRange(open: RangeOpener, start: number, end: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await open({ start, end })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

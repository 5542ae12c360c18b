import type { Readable } from 'node:stream';

const EMPTY = Buffer.alloc(0);

/** The stream ended before a read could be satisfied. */
export class UnexpectedEndError extends Error {
  override readonly name = 'UnexpectedEndError';
}

/**
 * Sequential reads over a byte stream, holding one chunk at a time: small reads (`varint`,
 * `bytes`) assemble what they need, `skip` drops whole chunks without copying, so walking a
 * multi-GB file costs bounded memory.
 */
export class ByteReader {
  private chunk: Buffer = EMPTY;
  private offset = 0;
  private readonly iterator: AsyncIterator<Buffer>;
  /** Bytes consumed so far. */
  position = 0;

  constructor(private readonly source: Readable) {
    this.iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Stops reading; the source is destroyed. */
  close(): void {
    this.source.destroy();
  }

  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      const next = await this.iterator.next();
      if (next.done) return false;
      this.chunk = next.value;
      this.offset = 0;
    }
    return true;
  }

  /** True when every byte has been read. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  async byte(): Promise<number> {
    if (this.offset >= this.chunk.length && !(await this.fill())) {
      throw new UnexpectedEndError(`the artifact ends at byte ${this.position}`);
    }
    this.position++;
    return this.chunk[this.offset++];
  }

  /** A protobuf base-128 varint, exact up to 2^53. */
  async varint(): Promise<number> {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = await this.byte();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new RangeError(`malformed varint at byte ${this.position - 10}`);
  }

  async bytes(length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let missing = length;
    while (missing > 0) {
      if (!(await this.fill())) throw new UnexpectedEndError(`the artifact ends at byte ${this.position}, inside a ${length}-byte field`);
      const take = Math.min(missing, this.chunk.length - this.offset);
      parts.push(this.chunk.subarray(this.offset, this.offset + take));
      this.offset += take;
      this.position += take;
      missing -= take;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
  }

  async skip(length: number): Promise<void> {
    let missing = length;
    while (missing > 0) {
      if (!(await this.fill())) throw new UnexpectedEndError(`the artifact ends at byte ${this.position}, inside a ${length}-byte field`);
      const take = Math.min(missing, this.chunk.length - this.offset);
      this.offset += take;
      this.position += take;
      missing -= take;
    }
  }
}

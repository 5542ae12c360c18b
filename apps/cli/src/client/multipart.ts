import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/** A `multipart/form-data` request body produced on demand, with its exact length known up front. */
export interface MultipartBody {
  /** `multipart/form-data; boundary=…` */
  readonly contentType: string;
  /** Total body size in bytes (framing included). */
  readonly contentLength: number;
  /** Produces the body on demand: a chunk is read from the file only when the socket takes one. */
  readonly stream: Readable;
}

export interface MultipartFile {
  /** The form field name of the file part. */
  readonly field: string;
  /** The file on disk, read as it is sent. */
  readonly path: string;
  /** Its size in bytes, from `stat`; a file that changes size while sent fails the upload. */
  readonly sizeBytes: number;
  /** The name sent in `Content-Disposition`. */
  readonly filename: string;
  readonly contentType?: string;
  /** Read size, in bytes (default 256 KiB). */
  readonly chunkBytes?: number;
}

const CRLF = '\r\n';

/**
 * Frames text fields and one file as `multipart/form-data` around a stream of the file, so the
 * file is never held whole in memory: the body is pulled chunk by chunk as the socket drains. The
 * text fields come first, so the gateway can check them before storing any file byte.
 */
export function multipartBody(
  fields: ReadonlyArray<readonly [name: string, value: string]>,
  file: MultipartFile,
  onFileBytes: (bytes: number) => void = () => undefined,
): MultipartBody {
  const boundary = `----hotswap-${randomBytes(16).toString('hex')}`;
  const head = Buffer.from(
    fields.map(([name, value]) => `--${boundary}${CRLF}Content-Disposition: form-data; name="${quote(name)}"${CRLF}${CRLF}${value}${CRLF}`).join('')
      + `--${boundary}${CRLF}Content-Disposition: form-data; name="${quote(file.field)}"; filename="${quote(file.filename)}"${CRLF}`
      + `Content-Type: ${file.contentType ?? 'application/octet-stream'}${CRLF}${CRLF}`,
    'utf8',
  );
  const tail = Buffer.from(`${CRLF}--${boundary}--${CRLF}`, 'utf8');

  async function* parts(): AsyncGenerator<Uint8Array> {
    yield head;
    let sent = 0;
    for await (const chunk of createReadStream(file.path, { highWaterMark: file.chunkBytes ?? 256 * 1024 }) as AsyncIterable<Buffer>) {
      sent += chunk.length;
      if (sent > file.sizeBytes) break;
      onFileBytes(chunk.length);
      yield chunk;
    }
    // The Content-Length was promised from stat; a file that grew or shrank cannot keep it.
    if (sent !== file.sizeBytes) throw new Error(`${file.path} changed size while it was being uploaded (${file.sizeBytes} bytes expected)`);
    yield tail;
  }

  const stream = Readable.from(parts(), { objectMode: false, highWaterMark: 64 * 1024 });
  return { contentType: `multipart/form-data; boundary=${boundary}`, contentLength: head.length + file.sizeBytes + tail.length, stream };
}

/** Quoted-string escaping of `Content-Disposition` names, as browsers do it (WHATWG HTML). */
const quote = (value: string) => value.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');

import type { IncomingMessage } from 'node:http';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BadRequestException, HttpException, PayloadTooLargeException, UnsupportedMediaTypeException,
} from '@nestjs/common';
import busboy from 'busboy';
import {
  ArtifactTooLargeError, ChecksumMismatchError, type ArtifactStore, type StoredArtifact,
} from '@hotswap/infrastructure';
import { incompleteBodyDeclaredBytes } from './incomplete-body.js';

/** The multipart part that carries the model file. */
export const ARTIFACT_PART = 'artifact';

/** Longest accepted text field, in bytes (the metadata JSON is the big one). */
export const MAX_FIELD_BYTES = 256 * 1024;

export interface ReceiveUploadOptions {
  readonly artifacts: ArtifactStore;
  /** Where the file part is streamed to. */
  readonly stagingKey: string;
  /** Largest accepted file, in bytes (413 above). */
  readonly maxSizeBytes: number;
  /**
   * Runs when the file part starts, with the text fields sent before it; an exception refuses the
   * upload before anything is stored (the rest of the body is read and discarded).
   */
  readonly checkFieldsBeforeFile?: (fields: Readonly<Record<string, string>>) => HttpException | undefined;
  /** The SHA-256 the file must have, from the fields sent before it (checked while streaming). */
  readonly expectedSha256?: (fields: Readonly<Record<string, string>>) => string | undefined;
}

export interface ReceivedUpload {
  readonly fields: Readonly<Record<string, string>>;
  /** The staged file, or undefined when the request had no `artifact` part. */
  readonly artifact: StoredArtifact | undefined;
}

/**
 * Reads a `multipart/form-data` upload: text fields into memory, the `artifact` file part streamed
 * straight into the artifact store under `stagingKey`, never buffered whole. Resolves or rejects
 * only once the whole body has been read and the store has finished, so the caller can respond and
 * clean up; on rejection nothing is left under `stagingKey` by the store, but a file stored before
 * a later part failed is the caller's to delete.
 * @throws HttpException (400 malformed form or store checksum mismatch, 413 too large, 415 not multipart)
 */
export async function receiveUpload(request: IncomingMessage, options: ReceiveUploadOptions): Promise<ReceivedUpload> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new UnsupportedMediaTypeException(
      `a model upload must be multipart/form-data with a boundary, got ${contentType === '' ? 'no Content-Type' : contentType}`,
    );
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: request.headers,
      limits: { fieldSize: MAX_FIELD_BYTES, fields: 20, files: 1, parts: 30 },
    });
  } catch (error) {
    throw new BadRequestException(`malformed multipart request: ${(error as Error).message}`);
  }

  const fields: Record<string, string> = {};
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
  };
  let stored: Promise<StoredArtifact | undefined> | undefined;

  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) fail(new BadRequestException(`field "${name}" is longer than ${MAX_FIELD_BYTES} bytes`));
    else if (Object.hasOwn(fields, name)) fail(new BadRequestException(`field "${name}" was sent more than once`));
    else fields[name] = value;
  });
  parser.on('file', (name, file) => {
    if (failure !== undefined) return discard(file);
    if (name !== ARTIFACT_PART) {
      fail(new BadRequestException(`unexpected file part "${name}": the model file goes in the part named "${ARTIFACT_PART}"`));
      return discard(file);
    }
    const refusal = options.checkFieldsBeforeFile?.(fields);
    if (refusal !== undefined) {
      fail(refusal);
      return discard(file);
    }
    // The store gets a pass-through, not busboy's stream: if the store gives up (too large), the
    // busboy stream must stay alive to be drained, or busboy would wait for it forever.
    const source = new PassThrough();
    let brokenForm: Error | undefined;
    file.on('error', (error) => {
      brokenForm = error;
      source.destroy(error);
    });
    // The store may still be setting up when the form breaks; it sees the error from the
    // stream's state once it starts reading, so the event itself must not go unhandled.
    source.on('error', () => undefined);
    file.pipe(source);
    stored = options.artifacts
      .put(options.stagingKey, source, { maxSizeBytes: options.maxSizeBytes, expectedSha256: options.expectedSha256?.(fields) })
      .catch((error: unknown) => {
        fail(
          brokenForm === undefined
            ? storeFailure(error, options.maxSizeBytes)
            : new BadRequestException(`malformed multipart request: ${brokenForm.message}`),
        );
        file.unpipe(source);
        discard(file);
        return undefined;
      });
  });
  parser.on('filesLimit', () => fail(new BadRequestException(`only one file part ("${ARTIFACT_PART}") is allowed`)));
  parser.on('fieldsLimit', () => fail(new BadRequestException('too many fields')));
  parser.on('partsLimit', () => fail(new BadRequestException('too many parts')));

  let receivedBytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      receivedBytes += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(request, counter, parser);
  } catch (error) {
    fail(new BadRequestException(`malformed multipart request: ${(error as Error).message}`));
  }
  const declaredBytes = incompleteBodyDeclaredBytes(request);
  if (declaredBytes !== undefined) {
    // The cut-short body is the cause of whatever else failed (the form, the store): say that.
    failure = new BadRequestException({
      message: `the request body ended after ${receivedBytes} bytes, but its Content-Length announced ${declaredBytes}`,
      details: { receivedBytes, contentLength: declaredBytes },
    });
  }
  const artifact = await stored;
  if (failure !== undefined) throw failure;
  return { fields, artifact };
}

function discard(file: Readable): void {
  file.resume();
}

function storeFailure(error: unknown, maxSizeBytes: number): Error {
  if (error instanceof ArtifactTooLargeError) {
    return new PayloadTooLargeException({
      message: `the artifact is larger than the limit of ${maxSizeBytes} bytes`,
      details: { maxSizeBytes },
    });
  }
  if (error instanceof ChecksumMismatchError) return checksumMismatch(error.expectedSha256, error.actualSha256);
  return error instanceof Error ? error : new Error(String(error));
}

/** 400: the file's SHA-256 is not the `checksum` the client sent. */
export function checksumMismatch(expected: string, actual: string): BadRequestException {
  return new BadRequestException({
    message: `checksum mismatch: expected SHA-256 ${expected}, the uploaded artifact has ${actual}`,
    details: { expected, actual },
  });
}

import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import busboy from 'busboy';
import { ArtifactTooLargeError, type ArtifactStore } from '@hotswap/infrastructure';

/** File part of one model input: `inputs.<inputName>`; the labels go in `labels`. */
export const INPUT_PART_PREFIX = 'inputs.';
export const LABELS_PART = 'labels';
const MAX_FORM_FIELD_BYTES = 1024;
const MAX_FILE_PARTS = 33;

export interface ReceivedDatasetForm {
  readonly fields: Readonly<Record<string, string>>;
  /** Staging key of each input's NPY file, by input name. */
  readonly inputs: Readonly<Record<string, string>>;
  readonly labels: string | undefined;
  /** Every key staged, for clean-up. */
  readonly staged: readonly string[];
}

/**
 * Reads the NPY form of `POST /api/v1/datasets`: text fields in memory, each file part streamed to
 * `<stagingPrefix>/<n>` in the artifact store (at most `maxFileBytes` each). On failure everything
 * it staged is removed before it throws.
 * @throws HttpException 400 (malformed form, unexpected or repeated part) or 413 (a file too large)
 */
export async function receiveDatasetForm(
  request: IncomingMessage, options: { artifacts: ArtifactStore; stagingPrefix: string; maxFileBytes: number },
): Promise<ReceivedDatasetForm> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: request.headers, limits: { fieldSize: MAX_FORM_FIELD_BYTES, fields: 10, files: MAX_FILE_PARTS } });
  } catch (error) {
    throw new BadRequestException(`malformed multipart request: ${(error as Error).message}`);
  }
  const fields: Record<string, string> = {};
  const inputs: Record<string, string> = {};
  let labels: string | undefined;
  const staged: string[] = [];
  const stores: Promise<unknown>[] = [];
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
  };

  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) fail(new BadRequestException(`field "${name}" is longer than ${MAX_FORM_FIELD_BYTES} bytes`));
    else if (Object.hasOwn(fields, name)) fail(new BadRequestException(`field "${name}" was sent more than once`));
    else fields[name] = value;
  });
  parser.on('file', (part, file) => {
    const inputName = part.startsWith(INPUT_PART_PREFIX) ? part.slice(INPUT_PART_PREFIX.length) : undefined;
    if (failure !== undefined) return void file.resume();
    if (part !== LABELS_PART && (inputName === undefined || inputName === '')) {
      fail(new BadRequestException(`unexpected file part "${part}": send each input as "${INPUT_PART_PREFIX}<inputName>" and the labels as "${LABELS_PART}" (NPY files)`));
      return void file.resume();
    }
    if ((part === LABELS_PART && labels !== undefined) || (inputName !== undefined && Object.hasOwn(inputs, inputName))) {
      fail(new BadRequestException(`file part "${part}" was sent more than once`));
      return void file.resume();
    }
    const key = `${options.stagingPrefix}/${staged.length}`;
    staged.push(key);
    if (inputName !== undefined) inputs[inputName] = key;
    else labels = key;
    // As for model uploads: the store reads a pass-through, so busboy's stream can still be drained if the store gives up.
    const source = new PassThrough();
    source.on('error', () => undefined);
    file.on('error', (error) => source.destroy(error));
    file.pipe(source);
    stores.push(options.artifacts.put(key, source, { maxSizeBytes: options.maxFileBytes }).catch((error: unknown) => {
      fail(error instanceof ArtifactTooLargeError
        ? new PayloadTooLargeException({ message: `file part "${part}" is larger than the limit of ${options.maxFileBytes} bytes`, details: { maxSizeBytes: options.maxFileBytes } })
        : new BadRequestException(`file part "${part}" could not be stored: ${(error as Error).message}`));
      file.unpipe(source);
      file.resume();
    }));
  });
  parser.on('filesLimit', () => fail(new BadRequestException(`at most ${MAX_FILE_PARTS} file parts are allowed`)));
  parser.on('fieldsLimit', () => fail(new BadRequestException('too many fields')));

  try {
    await pipeline(request, parser);
  } catch (error) {
    fail(new BadRequestException(`malformed multipart request: ${(error as Error).message}`));
  }
  await Promise.all(stores);
  if (failure !== undefined) {
    await Promise.all(staged.map((key) => options.artifacts.delete(key).catch(() => undefined)));
    throw failure;
  }
  return { fields, inputs, labels, staged };
}

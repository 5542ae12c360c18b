import type { Readable } from 'node:stream';
import type { DatasetRegistered, StagedDataset } from '@hotswap/contracts';
import { checkDataset, InvalidCommandError, type Dataset, type DatasetOptions } from '@hotswap/domain';
import type { ArtifactStore } from '@hotswap/infrastructure';
import { NpyFormatError, parseNpy, samplesOf } from './npy.js';

/** Where a registered dataset is stored: one canonical JSON document. */
export const datasetKey = (datasetId: string): string => `datasets/${datasetId}.json`;

/** Largest staged dataset file the validator reads, in bytes; the gateway's body limits are far below it. */
export const MAX_DATASET_FILE_BYTES = 256 * 1024 * 1024;

/** The dataset as received, before `checkDataset`: inputs by name and the labels. */
export interface RawDataset {
  readonly inputs: unknown;
  readonly labels: unknown;
}

/**
 * Reads a staged dataset: the JSON document `{ inputs, labels }`, or one NPY file per input
 * (first axis = samples) and one for the labels.
 * @throws InvalidCommandError naming the file that cannot be read
 */
export async function readStaged(artifacts: ArtifactStore, staged: StagedDataset, subject: string): Promise<RawDataset> {
  if (staged.format === 'json') {
    const text = (await readAll(artifacts, staged.key, subject, 'the dataset body')).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new InvalidCommandError(`${subject}: the dataset body is not JSON: ${(error as Error).message}`, { cause: error });
    }
    const { inputs, labels } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<RawDataset>;
    return { inputs, labels };
  }
  const inputs: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(staged.inputs)) {
    const array = npyOf(await readAll(artifacts, key, subject, `inputs.${name}`), subject, `inputs.${name}`);
    if (array.shape.length === 0) throw new InvalidCommandError(`${subject}: inputs.${name} must have a first axis of samples, got a scalar`);
    const { dims, rows } = samplesOf(array);
    inputs[name] = { type: array.type, dims, data: rows };
  }
  const labelsArray = npyOf(await readAll(artifacts, staged.labels, subject, 'labels'), subject, 'labels');
  if (labelsArray.shape.length === 0) throw new InvalidCommandError(`${subject}: labels must have a first axis of samples, got a scalar`);
  const { rows } = samplesOf(labelsArray);
  // Labels of shape (N,) are one number each; (N, k) one list of k values each (regression).
  const labels = labelsArray.shape.length === 1 ? rows.map((row) => row[0]) : rows.map((row) => Array.from(row));
  return { inputs, labels };
}

/** The canonical stored form: what `loadDataset` reads back. */
export function serializeDataset(dataset: Dataset): string {
  return JSON.stringify({
    task: dataset.task,
    ...(dataset.tolerance !== undefined ? { tolerance: dataset.tolerance } : {}),
    inputs: Object.fromEntries(dataset.inputs.map((i) => [i.name, { type: i.type, dims: i.dims, data: i.data.map((row) => Array.from(row)) }])),
    labels: dataset.labels,
  });
}

/** Reads a registered dataset back from the store, checked again so a damaged file fails loudly. */
export async function loadDataset(artifacts: ArtifactStore, registered: Pick<DatasetRegistered['data'], 'datasetId' | 'artifactKey'>): Promise<Dataset> {
  const subject = `dataset ${registered.datasetId}`;
  const stored = JSON.parse((await readAll(artifacts, registered.artifactKey, subject, 'the stored dataset')).toString('utf8')) as RawDataset & DatasetOptions;
  return checkDataset(subject, stored, { task: stored.task, tolerance: stored.tolerance });
}

function npyOf(bytes: Buffer, subject: string, field: string) {
  try {
    return parseNpy(bytes);
  } catch (error) {
    if (error instanceof NpyFormatError) throw new InvalidCommandError(`${subject}: ${field}: ${error.message}`, { cause: error });
    throw error;
  }
}

async function readAll(artifacts: ArtifactStore, key: string, subject: string, what: string): Promise<Buffer> {
  const stream: Readable = await artifacts.get(key);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_DATASET_FILE_BYTES) {
      stream.destroy();
      throw new InvalidCommandError(`${subject}: ${what} is larger than ${MAX_DATASET_FILE_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

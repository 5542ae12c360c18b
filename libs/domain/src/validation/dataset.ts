import {
  DATASET_ELEMENT_TYPES, DATASET_TASKS,
  type DatasetElementType, type DatasetInputSpec, type DatasetRegistered, type DatasetTask,
} from '@hotswap/contracts';
import { unknownCommand, type Command, type Decider } from '../decider.js';
import { AlreadyExistsError, InvalidCommandError } from '../errors.js';
import { requireNonNegativeNumber, requirePositiveInteger, requireText, show } from '../validation.js';

/** Absolute tolerance of a regression dataset when none is given. */
export const DEFAULT_REGRESSION_TOLERANCE = 0.001;
/** Most samples a dataset may hold. */
export const MAX_DATASET_SAMPLES = 100_000;
/** Most values (all inputs and labels of all samples) a dataset may hold, so a run stays bounded in memory. */
export const MAX_DATASET_VALUES = 10_000_000;
/** Most inputs a dataset may have. */
export const MAX_DATASET_INPUTS = 32;

const INTEGER_RANGES: Partial<Record<DatasetElementType, readonly [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], uint64: [0, Number.MAX_SAFE_INTEGER], bool: [0, 1],
};

/** One dataset input with its samples: `data[i]` holds the flat values of sample `i`. */
export interface DatasetInput extends DatasetInputSpec {
  readonly data: ReadonlyArray<ArrayLike<number>>;
}

/** A dataset whose shapes, types and counts have been checked. */
export interface Dataset {
  readonly task: DatasetTask;
  /** Absolute tolerance (regression only). */
  readonly tolerance?: number;
  readonly inputs: readonly DatasetInput[];
  /** A class index per sample (classification), or the expected output values per sample (regression). */
  readonly labels: ReadonlyArray<number | readonly number[]>;
  readonly samples: number;
}

export interface DatasetOptions {
  readonly task?: unknown;
  readonly tolerance?: unknown;
}

/**
 * Checks a dataset as received (`inputs`: `{ <name>: { type, dims, data } }`, `labels`), naming
 * the first offending field: an unknown element type, dims that are not positive integers, a
 * sample whose value count does not match its dims, a value out of its type's range, inputs and
 * labels with different sample counts, a label that does not fit the task.
 * @throws InvalidCommandError
 */
export function checkDataset(subject: string, body: { readonly inputs?: unknown; readonly labels?: unknown }, options: DatasetOptions = {}): Dataset {
  const fail = (message: string): never => {
    throw new InvalidCommandError(`${subject}: ${message}`);
  };
  const task = options.task === undefined ? 'classification' : options.task;
  if (!DATASET_TASKS.includes(task as DatasetTask)) fail(`task must be one of ${DATASET_TASKS.join(', ')}, got ${show(task)}`);
  if (options.tolerance !== undefined && task !== 'regression') fail('tolerance applies to regression datasets only');
  const tolerance = task === 'regression'
    ? (options.tolerance === undefined ? DEFAULT_REGRESSION_TOLERANCE : requireNonNegativeNumber(subject, 'tolerance', options.tolerance))
    : undefined;

  const { inputs: rawInputs, labels: rawLabels } = body;
  if (typeof rawInputs !== 'object' || rawInputs === null || Array.isArray(rawInputs)) {
    fail(`inputs must be an object mapping each model input name to { type, dims, data }, got ${show(rawInputs)}`);
  }
  const entries = Object.entries(rawInputs as Record<string, unknown>);
  if (entries.length === 0) fail('inputs must name at least one model input');
  if (entries.length > MAX_DATASET_INPUTS) fail(`inputs has ${entries.length} entries, at most ${MAX_DATASET_INPUTS} are allowed`);
  if (!Array.isArray(rawLabels)) fail(`labels must be an array with one label per sample, got ${show(rawLabels)}`);
  const labelsIn = rawLabels as unknown[];
  if (labelsIn.length === 0) fail('labels is empty: a dataset needs at least one sample');
  if (labelsIn.length > MAX_DATASET_SAMPLES) fail(`labels has ${labelsIn.length} samples, at most ${MAX_DATASET_SAMPLES} are allowed`);
  const samples = labelsIn.length;

  let values = 0;
  const countValues = (n: number) => {
    values += n;
    if (values > MAX_DATASET_VALUES) fail(`the dataset holds more than ${MAX_DATASET_VALUES} values`);
  };

  const inputs = entries.map(([name, raw]): DatasetInput => {
    const field = `inputs.${name}`;
    if (name.trim() === '') fail('inputs: an input name must not be empty');
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${field} must be an object { type, dims, data }, got ${show(raw)}`);
    const { type, dims, data, ...extra } = raw as { type?: unknown; dims?: unknown; data?: unknown };
    const unknownKeys = Object.keys(extra);
    if (unknownKeys.length > 0) fail(`${field}.${unknownKeys[0]} is not a dataset input field (known: type, dims, data)`);
    if (!DATASET_ELEMENT_TYPES.includes(type as DatasetElementType)) {
      fail(`${field}.type must be one of ${DATASET_ELEMENT_TYPES.join(', ')}, got ${show(type)}`);
    }
    if (!Array.isArray(dims) || dims.length === 0 || dims.length > 8) fail(`${field}.dims must be a list of 1 to 8 dimensions of one sample, got ${show(dims)}`);
    (dims as unknown[]).forEach((d, i) => requirePositiveInteger(subject, `${field}.dims[${i}]`, d));
    const size = (dims as number[]).reduce((a, b) => a * b, 1);
    if (!Array.isArray(data)) fail(`${field}.data must be a list with one list of values per sample, got ${show(data)}`);
    const rows = data as unknown[];
    if (rows.length !== samples) fail(`${field}.data has ${rows.length} samples but labels has ${samples}; they must match`);
    const range = INTEGER_RANGES[type as DatasetElementType];
    rows.forEach((row, i) => {
      const isList = Array.isArray(row) || ArrayBuffer.isView(row);
      if (!isList) fail(`${field}.data[${i}] must be a flat list of ${size} values, got ${show(row)}`);
      const list = row as ArrayLike<unknown>;
      if (list.length !== size) fail(`${field}.data[${i}] has ${list.length} values but dims [${(dims as number[]).join(', ')}] need ${size}`);
      countValues(size);
      for (let j = 0; j < list.length; j++) {
        const v = list[j];
        if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${field}.data[${i}][${j}] must be a finite number, got ${show(v)}`);
        if (range && (!Number.isInteger(v) || (v as number) < range[0] || (v as number) > range[1])) {
          fail(`${field}.data[${i}][${j}] must be an integer from ${range[0]} to ${range[1]} for ${String(type)}, got ${show(v)}`);
        }
      }
    });
    return { name, type: type as DatasetElementType, dims: [...(dims as number[])], data: rows as ArrayLike<number>[] };
  });

  const labels = labelsIn.map((label, i): number | readonly number[] => {
    if (task === 'classification') {
      if (typeof label !== 'number' || !Number.isSafeInteger(label) || label < 0) {
        fail(`labels[${i}] must be a class index (an integer >= 0) for a classification dataset, got ${show(label)}`);
      }
      countValues(1);
      return label as number;
    }
    const list = typeof label === 'number' ? [label] : label;
    if (!Array.isArray(list) || list.length === 0) fail(`labels[${i}] must be the expected output (a number or a flat list of numbers), got ${show(label)}`);
    (list as unknown[]).forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`labels[${i}][${j}] must be a finite number, got ${show(v)}`);
    });
    countValues((list as unknown[]).length);
    return list as number[];
  });

  return { task: task as DatasetTask, ...(tolerance !== undefined ? { tolerance } : {}), inputs, labels, samples };
}

export interface AccuracyScore {
  /** Right answers / samples. */
  readonly accuracy: number;
  /** Macro-averaged over the classes seen in the labels or the predictions (classification only). */
  readonly precision?: number;
  readonly recall?: number;
}

/**
 * Scores the model's outputs against the labels. `outputs[i]` is the flat output of sample `i`,
 * or `null` when its inference failed (counted wrong). Classification: the predicted class is the
 * argmax of the output (the rounded value for a one-value output); precision and recall are
 * averaged over every class that appears as a label or a prediction, a class never predicted
 * counting precision 0. Regression: right when the output has the label's length and every value
 * is within the tolerance.
 */
export function scoreAccuracy(dataset: Pick<Dataset, 'task' | 'tolerance' | 'labels'>, outputs: ReadonlyArray<ArrayLike<number> | null>): AccuracyScore {
  const n = dataset.labels.length;
  if (n === 0) return { accuracy: 0 };
  if (dataset.task === 'regression') {
    const tolerance = dataset.tolerance ?? DEFAULT_REGRESSION_TOLERANCE;
    let right = 0;
    dataset.labels.forEach((label, i) => {
      const expected = typeof label === 'number' ? [label] : label;
      const got = outputs[i];
      if (got && got.length === expected.length && expected.every((v, j) => Math.abs(got[j]! - v) <= tolerance)) right++;
    });
    return { accuracy: round(right / n) };
  }
  const predicted = outputs.map((o) => (o === null || o.length === 0 ? -1 : o.length === 1 ? Math.round(o[0]!) : argmax(o)));
  const classes = new Set<number>([...dataset.labels as number[], ...predicted.filter((p) => p >= 0)]);
  let right = 0;
  const tp = new Map<number, number>();
  const predictedCount = new Map<number, number>();
  const labelCount = new Map<number, number>();
  const bump = (map: Map<number, number>, key: number) => map.set(key, (map.get(key) ?? 0) + 1);
  dataset.labels.forEach((label, i) => {
    const p = predicted[i]!;
    bump(labelCount, label as number);
    if (p >= 0) bump(predictedCount, p);
    if (p === label) {
      right++;
      bump(tp, p);
    }
  });
  let precision = 0;
  let recall = 0;
  for (const c of classes) {
    const hits = tp.get(c) ?? 0;
    precision += predictedCount.get(c) ? hits / predictedCount.get(c)! : 0;
    recall += labelCount.get(c) ? hits / labelCount.get(c)! : 0;
  }
  return { accuracy: round(right / n), precision: round(precision / classes.size), recall: round(recall / classes.size) };
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

const round = (value: number): number => Math.round(value * 1e6) / 1e6;

// ── The dataset aggregate (stream `dataset-<datasetId>`) ─────────────────────

export type RegisterDataset = Command<'RegisterDataset', Omit<DatasetRegistered['data'], 'registeredAt'>>;
export type DatasetCommand = RegisterDataset;
export type DatasetState = { readonly status: 'Empty' } | ({ readonly status: 'Registered' } & DatasetRegistered['data']);

export function decideDataset(command: DatasetCommand, state: DatasetState): DatasetRegistered[] {
  if (command.type !== 'RegisterDataset') return unknownCommand(command as never);
  const { data } = command;
  const subject = `dataset ${String(data.datasetId)}`;
  requireText(subject, 'datasetId', data.datasetId);
  requireText(subject, 'name', data.name);
  requireText(subject, 'artifactKey', data.artifactKey);
  if (!/^[0-9a-f]{64}$/.test(data.sha256)) throw new InvalidCommandError(`${subject}: sha256 must be 64 lowercase hex digits, got ${show(data.sha256)}`);
  requirePositiveInteger(subject, 'samples', data.samples);
  requirePositiveInteger(subject, 'sizeBytes', data.sizeBytes);
  if (state.status !== 'Empty') throw new AlreadyExistsError(`dataset ${data.datasetId} already exists`);
  return [{ type: 'DatasetRegistered', data: { ...data, registeredAt: command.metadata.now } }];
}

export function evolveDataset(state: DatasetState, event: DatasetRegistered): DatasetState {
  return event.type === 'DatasetRegistered' ? { status: 'Registered', ...event.data } : state;
}

export const datasetDecider: Decider<DatasetCommand, DatasetRegistered, DatasetState> = {
  decide: decideDataset,
  evolve: evolveDataset,
  initialState: () => ({ status: 'Empty' }),
};

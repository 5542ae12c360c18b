import { describe, expect, it } from '@jest/globals';
import type { DatasetRegistered } from '@hotswap/contracts';
import { AlreadyExistsError, InvalidCommandError } from '../errors.js';
import { DeciderSpecification } from '../testing/decider-spec.js';
import {
  checkDataset, datasetDecider, DEFAULT_REGRESSION_TOLERANCE, MAX_DATASET_INPUTS, MAX_DATASET_SAMPLES, scoreAccuracy, type RegisterDataset,
} from './dataset.js';

const x = { type: 'float32', dims: [1, 2], data: [[1, 2], [3, 4]] };
const refusal = (body: { inputs?: unknown; labels?: unknown }, options: { task?: unknown; tolerance?: unknown } = {}) => {
  try {
    checkDataset('dataset d', body, options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCommandError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('checkDataset', () => {
  it('accepts a classification dataset by default and a regression one with the default tolerance', () => {
    expect(checkDataset('dataset d', { inputs: { x }, labels: [0, 1] })).toStrictEqual({
      task: 'classification', inputs: [{ name: 'x', type: 'float32', dims: [1, 2], data: [[1, 2], [3, 4]] }], labels: [0, 1], samples: 2,
    });
    const regression = checkDataset('dataset d', { inputs: { x }, labels: [5, [6, 7]] }, { task: 'regression' });
    expect(regression).toMatchObject({ task: 'regression', tolerance: DEFAULT_REGRESSION_TOLERANCE, labels: [[5], [6, 7]] });
  });

  it.each([
    [{ inputs: { x }, labels: [0, 1] }, { task: 'ranking' }, 'dataset d: task must be one of classification, regression, got "ranking"'],
    [{ inputs: { x }, labels: [0, 1] }, { task: 'regression', tolerance: -1 }, 'tolerance must be a finite number >= 0, got -1'],
    [{ inputs: [], labels: [0] }, {}, 'inputs must be an object mapping each model input name to { type, dims, data }'],
    [{ inputs: Object.fromEntries(Array.from({ length: MAX_DATASET_INPUTS + 1 }, (_, i) => [`i${i}`, x])), labels: [0, 1] }, {}, `at most ${MAX_DATASET_INPUTS} are allowed`],
    [{ inputs: { x }, labels: 'abc' }, {}, 'labels must be an array with one label per sample, got "abc"'],
    [{ inputs: { x }, labels: [] }, {}, 'labels is empty'],
    [{ inputs: { x }, labels: new Array(MAX_DATASET_SAMPLES + 1).fill(0) }, {}, `at most ${MAX_DATASET_SAMPLES} are allowed`],
    [{ inputs: { '': x }, labels: [0, 1] }, {}, 'an input name must not be empty'],
    [{ inputs: { x: 5 }, labels: [0, 1] }, {}, 'inputs.x must be an object { type, dims, data }, got 5'],
    [{ inputs: { x: { ...x, shape: [2] } }, labels: [0, 1] }, {}, 'inputs.x.shape is not a dataset input field (known: type, dims, data)'],
    [{ inputs: { x: { ...x, dims: [] } }, labels: [0, 1] }, {}, 'inputs.x.dims must be a list of 1 to 8 dimensions of one sample'],
    [{ inputs: { x: { ...x, dims: [1.5] } }, labels: [0, 1] }, {}, 'inputs.x.dims[0] must be a positive integer, got 1.5'],
    [{ inputs: { x: { ...x, data: 'no' } }, labels: [0, 1] }, {}, 'inputs.x.data must be a list with one list of values per sample'],
    [{ inputs: { x: { ...x, data: [[1, 2], 3] } }, labels: [0, 1] }, {}, 'inputs.x.data[1] must be a flat list of 2 values, got 3'],
    [{ inputs: { x: { ...x, data: [[1, 2], [3, 'four']] } }, labels: [0, 1] }, {}, 'inputs.x.data[1][1] must be a finite number, got "four"'],
    [{ inputs: { x: { ...x, type: 'int8', data: [[1, 2], [3, 4.5]] } }, labels: [0, 1] }, {}, 'inputs.x.data[1][1] must be an integer from -128 to 127 for int8, got 4.5'],
    [{ inputs: { x }, labels: [0, -1] }, {}, 'labels[1] must be a class index (an integer >= 0) for a classification dataset, got -1'],
    [{ inputs: { x }, labels: [0, []] }, { task: 'regression' }, 'labels[1] must be the expected output (a number or a flat list of numbers), got []'],
    [{ inputs: { x }, labels: [0, [1, null]] }, { task: 'regression' }, 'labels[1][1] must be a finite number, got null'],
  ])('refuses %j (%j) naming the field', (body, options, message) => {
    expect(refusal(body, options)).toContain(message);
  });

  it('bounds the number of values a dataset may hold', () => {
    const big = { type: 'float32', dims: [1000, 1000], data: Array.from({ length: 11 }, () => new Float32Array(1_000_000)) };
    expect(refusal({ inputs: { big }, labels: new Array(11).fill(0) })).toBe('dataset d: the dataset holds more than 10000000 values');
  });
});

describe('scoreAccuracy', () => {
  it('takes the argmax for classification, the rounded value for one-value outputs, and averages precision and recall over classes', () => {
    const dataset = { task: 'classification' as const, labels: [0, 1, 1, 2] };
    expect(scoreAccuracy(dataset, [[0.9, 0.1], [0.2, 0.8], null, [0.1, 0.3, 0.6]])).toStrictEqual({ accuracy: 0.75, precision: 1, recall: 0.833333 });
    expect(scoreAccuracy({ task: 'classification', labels: [0, 1] }, [[0.2], [0.7]])).toStrictEqual({ accuracy: 1, precision: 1, recall: 1 });
    // Class 1 is never predicted: precision 0 for it; class 0 predicted twice, right once.
    expect(scoreAccuracy({ task: 'classification', labels: [0, 1] }, [[1, 0], [1, 0]])).toStrictEqual({ accuracy: 0.5, precision: 0.25, recall: 0.5 });
  });

  it('accepts a regression output within the tolerance, of the label length only', () => {
    const dataset = { task: 'regression' as const, tolerance: 0.1, labels: [[1, 2], 3, [4], [5]] };
    expect(scoreAccuracy(dataset, [[1.05, 1.95], [3.2], [4, 4], [5]])).toStrictEqual({ accuracy: 0.5 });
    expect(scoreAccuracy({ task: 'regression', labels: [1] }, [[1 + DEFAULT_REGRESSION_TOLERANCE / 2]])).toStrictEqual({ accuracy: 1 });
    expect(scoreAccuracy({ task: 'regression', labels: [] }, [])).toStrictEqual({ accuracy: 0 });
  });
});

describe('dataset decider', () => {
  const data: RegisterDataset['data'] = {
    datasetId: 'ds-1', name: 'digits', task: 'classification', inputs: [{ name: 'x', type: 'float32', dims: [1, 2] }], samples: 2,
    artifactKey: 'datasets/ds-1.json', sha256: 'a'.repeat(64), sizeBytes: 10,
  };
  const register = (override: Partial<RegisterDataset['data']> = {}): RegisterDataset => ({
    type: 'RegisterDataset', data: { ...data, ...override }, metadata: { now: '2030-01-01T00:00:00.000Z' },
  });
  const registered: DatasetRegistered = { type: 'DatasetRegistered', data: { ...data, registeredAt: '2030-01-01T00:00:00.000Z' } };
  const spec = DeciderSpecification.for(datasetDecider);

  it('records DatasetRegistered once', () => {
    spec.given([]).when(register()).then([registered]);
    spec.given([registered]).when(register()).thenThrows(AlreadyExistsError, 'dataset ds-1 already exists');
  });

  it.each([
    [{ datasetId: '' }, 'datasetId is required'],
    [{ sha256: 'XYZ' }, 'sha256 must be 64 lowercase hex digits'],
    [{ samples: 0 }, 'samples must be a positive integer'],
  ])('refuses %j', (override, message) => {
    spec.given([]).when(register(override)).thenThrows(InvalidCommandError, message);
  });
});

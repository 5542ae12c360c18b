import { describe, expect, it } from '@jest/globals';
import * as ort from 'onnxruntime-node';
import { DATASET_ELEMENT_TYPES, type DatasetElementType } from '@hotswap/contracts';
import { checkDataset } from '@hotswap/domain';
import { makeAddModel, makeIdentityModel } from '@hotswap/infrastructure/testing';
import { incompatibility, predict } from './accuracy-test.js';

describe('running a dataset through onnxruntime', () => {
  it('feeds every element type and reads the output back as numbers', async () => {
    const types = DATASET_ELEMENT_TYPES.filter((t) => t !== 'float32') as DatasetElementType[];
    const session = await ort.InferenceSession.create(makeIdentityModel(types.map((type) => ({ name: type, type, shape: [1, 2] }))));
    try {
      const inputs = Object.fromEntries(types.map((type) => [type, { type, dims: [1, 2], data: [[1, 0], [0, 1]] }]));
      const dataset = checkDataset('dataset all', { inputs, labels: [0, 1] });
      expect(incompatibility(session, dataset, undefined)).toBeUndefined();
      for (const type of types) {
        const { outputs, failures } = await predict(session, dataset, `${type}_out`);
        expect([type, failures, outputs.map((o) => Array.from(o!))]).toEqual([type, 0, [[1, 0], [0, 1]]]);
      }
    } finally {
      await session.release();
    }
  });

  it('names a type mismatch and an unknown output, and counts a failed inference as null', async () => {
    const session = await ort.InferenceSession.create(makeAddModel({ addend: 1, shape: [1, 2] }));
    try {
      const asInt = checkDataset('dataset d', { inputs: { x: { type: 'int32', dims: [1, 2], data: [[1, 2]] } }, labels: [0] });
      expect(incompatibility(session, asInt, undefined)).toBe('dataset input "x" is int32, the model wants float32');
      const fine = checkDataset('dataset d', { inputs: { x: { type: 'float32', dims: [1, 2], data: [[1, 2]] } }, labels: [0] });
      expect(incompatibility(session, fine, 'logits')).toBe('the dataset compares output "logits", which the model does not have (model outputs: y)');
      const wrongShape = checkDataset('dataset d', { inputs: { x: { type: 'float32', dims: [1, 3], data: [[1, 2, 3]] } }, labels: [0] });
      const result = await predict(session, wrongShape);
      expect(result).toMatchObject({ outputs: [null], failures: 1, firstError: expect.any(String) });
    } finally {
      await session.release();
    }
  });
});

import { describe, it } from '@jest/globals';
import type { ModelEvent, ModelUploaded } from '@hotswap/contracts';
import { AlreadyExistsError, InvalidCommandError } from '../errors.js';
import { DeciderSpecification } from '../testing/decider-spec.js';
import { modelDecider, type ModelCommand, type UploadModel } from './decide.js';

const now = '2025-03-01T10:00:00.000Z';
const sha256 = 'a'.repeat(64);

function upload(overrides: Partial<UploadModel['data']> = {}, at = now): UploadModel {
  return {
    type: 'UploadModel',
    data: {
      modelId: 'object-detection-1.2.0',
      name: 'object-detection',
      version: '1.2.0',
      framework: 'onnx',
      sha256,
      sizeBytes: 1024,
      artifactKey: 'models/object-detection/1.2.0/model.onnx',
      metadata: { description: 'detects objects', opset: 17 },
      ...overrides,
    },
    metadata: { now: at },
  };
}

const uploaded: ModelUploaded = {
  type: 'ModelUploaded',
  data: {
    modelId: 'object-detection-1.2.0',
    name: 'object-detection',
    version: '1.2.0',
    framework: 'onnx',
    sha256,
    sizeBytes: 1024,
    artifactKey: 'models/object-detection/1.2.0/model.onnx',
    metadata: { description: 'detects objects', opset: 17 },
    uploadedAt: now,
  },
};

const spec = DeciderSpecification.for(modelDecider);

describe('model decider', () => {
  describe('when the model does not exist', () => {
    it('records the upload, stamped with the command time', () => {
      spec.given([]).when(upload()).then([uploaded]);
    });

    it('accepts a pre-release version and records empty metadata when none is given', () => {
      spec.given([])
        .when(upload({ modelId: 'm-2.0.0-rc.1', name: 'm', version: '2.0.0-rc.1', metadata: undefined }))
        .then([{ type: 'ModelUploaded', data: { ...uploaded.data, modelId: 'm-2.0.0-rc.1', name: 'm', version: '2.0.0-rc.1', metadata: {} } }]);
    });

    it('refuses a version that is not semver, naming it', () => {
      spec.given([]).when(upload({ modelId: 'object-detection-1.2', version: '1.2' }))
        .thenThrows(InvalidCommandError, '"1.2" is not a semantic version');
    });

    it('refuses a model id that is not <name>-<version>', () => {
      spec.given([]).when(upload({ modelId: 'object-detection-v1' }))
        .thenThrows(InvalidCommandError, 'model object-detection-v1: modelId must be <name>-<version>, i.e. "object-detection-1.2.0"');
    });

    it('refuses a missing model id', () => {
      spec.given([]).when(upload({ modelId: '' })).thenThrows(InvalidCommandError, 'modelId is required');
    });

    it('refuses a model name that cannot be a subject token', () => {
      spec.given([]).when(upload({ modelId: 'bad name-1.2.0', name: 'bad name' }))
        .thenThrows(InvalidCommandError, 'model name "bad name" must not contain');
    });

    it.each([0, -5, 1.5, Number.NaN])('refuses sizeBytes %p', (sizeBytes) => {
      spec.given([]).when(upload({ sizeBytes })).thenThrows(InvalidCommandError, `sizeBytes must be a positive integer, got ${sizeBytes}`);
    });

    it.each(['A'.repeat(64), 'a'.repeat(63), 'g'.repeat(64), ''])('refuses sha256 %p', (bad) => {
      spec.given([]).when(upload({ sha256: bad })).thenThrows(InvalidCommandError, 'sha256 must be 64 lowercase hex digits');
    });

    it('refuses an unknown framework', () => {
      spec.given([]).when(upload({ framework: 'caffe' as never }))
        .thenThrows(InvalidCommandError, 'framework must be one of onnx, tensorflow, pytorch, zip, got "caffe"');
    });

    it('refuses a missing artifact key', () => {
      spec.given([]).when(upload({ artifactKey: ' ' })).thenThrows(InvalidCommandError, 'artifactKey is required');
    });

    it('refuses a command time that is not an ISO 8601 timestamp', () => {
      spec.given([]).when(upload({}, '01/03/2025')).thenThrows(InvalidCommandError, 'metadata.now must be an ISO 8601 timestamp');
    });
  });

  describe('when the model was uploaded', () => {
    it('refuses a second upload of the same id', () => {
      spec.given([uploaded]).when(upload()).thenThrows(AlreadyExistsError, 'model object-detection-1.2.0 already exists');
    });
  });

  describe('with commands and events it does not know', () => {
    it('refuses an unknown command as a bad request', () => {
      spec.given([]).when({ type: 'DeleteModel', data: {}, metadata: { now } } as unknown as ModelCommand)
        .thenThrows(InvalidCommandError, 'unknown command type "DeleteModel"');
    });

    it('skips an event of a newer schema when folding', () => {
      spec.given([{ type: 'ModelRenamed', data: {} } as unknown as ModelEvent]).when(upload()).then([uploaded]);
    });
  });
});

import { FRAMEWORKS, invalidIdReason, type Framework, type ModelMetadata, type ModelEvent, type ModelUploaded } from '@hotswap/contracts';
import { unknownCommand, type Command, type Decider } from '../decider.js';
import { AlreadyExistsError, InvalidCommandError } from '../errors.js';
import { parseSemver } from '../semver.js';
import { requirePositiveInteger, requireOneOf, requireText, requireTimestamp } from '../validation.js';
import { evolveModel, initialModelState, type ModelState } from './model.js';

export type UploadModel = Command<'UploadModel', {
  /** Must be `<name>-<version>`. */
  readonly modelId: string;
  readonly name: string;
  /** Semantic version. */
  readonly version: string;
  readonly framework: Framework;
  /** SHA-256 of the artifact, 64 lowercase hex digits. */
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Where the artifact store keeps it. */
  readonly artifactKey: string;
  readonly metadata: ModelMetadata;
}>;

export type ModelCommand = UploadModel;

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

function uploadModel({ data, metadata }: UploadModel, state: ModelState): ModelUploaded[] {
  const subject = `model ${data.modelId}`;
  if (state.status !== 'Empty') throw new AlreadyExistsError(`model ${data.modelId} already exists`);
  requireText('model', 'modelId', data.modelId);
  const nameProblem = invalidIdReason('model name', data.name);
  if (nameProblem !== undefined) throw new InvalidCommandError(`${subject}: ${nameProblem}`);
  parseSemver(data.version);
  const expectedId = `${data.name}-${data.version}`;
  if (data.modelId !== expectedId) {
    throw new InvalidCommandError(`${subject}: modelId must be <name>-<version>, i.e. "${expectedId}"`);
  }
  requireOneOf(subject, 'framework', data.framework, FRAMEWORKS);
  if (typeof data.sha256 !== 'string' || !SHA256_PATTERN.test(data.sha256)) {
    throw new InvalidCommandError(`${subject}: sha256 must be 64 lowercase hex digits, got ${JSON.stringify(data.sha256)}`);
  }
  requirePositiveInteger(subject, 'sizeBytes', data.sizeBytes);
  requireText(subject, 'artifactKey', data.artifactKey);
  const uploadedAt = requireTimestamp(subject, 'metadata.now', metadata.now);
  return [{
    type: 'ModelUploaded',
    data: {
      modelId: data.modelId,
      name: data.name,
      version: data.version,
      framework: data.framework,
      sha256: data.sha256,
      sizeBytes: data.sizeBytes,
      artifactKey: data.artifactKey,
      metadata: data.metadata ?? {},
      uploadedAt,
    },
  }];
}

export function decideModel(command: ModelCommand, state: ModelState): ModelEvent[] {
  switch (command.type) {
    case 'UploadModel':
      return uploadModel(command, state);
    default: {
      // With a single command `command` itself does not narrow to never; its type does.
      const _exhaustive: never = command.type;
      return unknownCommand(command as never);
    }
  }
}

export const modelDecider: Decider<ModelCommand, ModelEvent, ModelState> = {
  decide: decideModel,
  evolve: evolveModel,
  initialState: initialModelState,
};

import type {
  Framework, ModelEvent, ModelMetadata, ValidationReportView, ValidationStepResult, ValidationThresholds,
} from '@hotswap/contracts';

/** What an uploaded model is; fixed once uploaded. */
export interface ModelDetails {
  readonly modelId: string;
  readonly name: string;
  readonly version: string;
  readonly framework: Framework;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly artifactKey: string;
  readonly metadata: ModelMetadata;
  readonly uploadedAt: string;
}

/** The validation run in progress. */
export interface ValidationRun {
  readonly validationId: string;
  readonly trigger: 'upload' | 'request';
  readonly thresholds: Required<ValidationThresholds>;
  readonly datasetId?: string;
  readonly ranOn: string;
  readonly startedAt: string;
  readonly steps: readonly ValidationStepResult[];
}

/**
 * The model aggregate (stream `model-<modelId>`):
 * `Uploaded → Validating → Validated | Rejected`, and again `Validating` on re-validation.
 * `Uploaded | Validated | Rejected → Deprecated` (final but for deletion), and any of those
 * `→ Deleted`: the artifact is gone, and a new `UploadModel` of the same id starts over.
 */
export type ModelState =
  | { readonly status: 'Empty' }
  | ({ readonly status: 'Uploaded' } & ModelDetails)
  | ({ readonly status: 'Validating'; readonly run: ValidationRun; readonly lastReport?: ValidationReportView } & ModelDetails)
  | ({ readonly status: 'Validated' | 'Rejected'; readonly lastReport: ValidationReportView } & ModelDetails)
  | ({
    readonly status: 'Deprecated';
    /** What it was when deprecated. */
    readonly deprecatedFrom: 'Uploaded' | 'Validated' | 'Rejected';
    readonly deprecatedAt: string;
    readonly lastReport?: ValidationReportView;
  } & ModelDetails)
  | {
    readonly status: 'Deleted';
    readonly modelId: string;
    readonly name: string;
    readonly version: string;
    readonly deletedAt: string;
  };

export function initialModelState(): ModelState {
  return { status: 'Empty' };
}

export function evolveModel(state: ModelState, event: ModelEvent): ModelState {
  switch (event.type) {
    case 'ModelUploaded':
      return { status: 'Uploaded', ...event.data };
    case 'ModelValidationStarted': {
      if (state.status === 'Empty' || state.status === 'Deleted' || state.status === 'Deprecated') return state;
      const { modelId: _id, at, ...run } = event.data;
      const { run: _previous, ...details } = state as typeof state & { run?: ValidationRun };
      return { ...details, status: 'Validating', run: { ...run, startedAt: at, steps: [] } };
    }
    case 'ModelValidationStepRecorded':
      if (state.status !== 'Validating' || state.run.validationId !== event.data.validationId) return state;
      return { ...state, run: { ...state.run, steps: [...state.run.steps, event.data.result] } };
    case 'ModelValidated':
    case 'ModelRejected': {
      if (state.status !== 'Validating') return state;
      const { run: _run, ...details } = state;
      return { ...details, status: event.type === 'ModelValidated' ? 'Validated' : 'Rejected', lastReport: event.data.report };
    }
    case 'ModelDeprecated': {
      if (state.status !== 'Uploaded' && state.status !== 'Validated' && state.status !== 'Rejected') return state;
      return { ...state, status: 'Deprecated', deprecatedFrom: state.status, deprecatedAt: event.data.at };
    }
    case 'ModelVersionDeleted': {
      const { modelId, name, version, at } = event.data;
      return { status: 'Deleted', modelId, name, version, deletedAt: at };
    }
    default: {
      // Events of a newer schema are skipped so an older reader can still fold the stream.
      const _unknown: never = event;
      return state;
    }
  }
}

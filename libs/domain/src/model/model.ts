import type { Framework, ModelEvent, ModelMetadata } from '@hotswap/contracts';

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

/** The model aggregate (stream `model-<modelId>`). Later statuses (Validating, …) join the union. */
export type ModelState = { readonly status: 'Empty' } | ({ readonly status: 'Uploaded' } & ModelDetails);

export function initialModelState(): ModelState {
  return { status: 'Empty' };
}

export function evolveModel(state: ModelState, event: ModelEvent): ModelState {
  switch (event.type) {
    case 'ModelUploaded':
      return { status: 'Uploaded', ...event.data };
    default: {
      // Events of a newer schema are skipped so an older reader can still fold the stream.
      const _unknown: never = event.type;
      return state;
    }
  }
}

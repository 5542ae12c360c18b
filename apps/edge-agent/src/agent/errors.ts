/** `infer()` was called while no model is active (nothing restored, no swap finished yet). */
export class NoModelLoadedError extends Error {
  override readonly name = 'NoModelLoadedError';
  constructor(deviceId: string) {
    super(`device ${deviceId} has no active model`);
  }
}

/** The active session failed to run; `modelId` names the model that failed. */
export class InferenceError extends Error {
  override readonly name = 'InferenceError';
  constructor(
    readonly modelId: string,
    options: { cause: unknown },
  ) {
    super(`inference on model ${modelId} failed`, options);
  }
}

/** One step of the swap pipeline failed; the message is the `reason` reported on `.status`. */
export class SwapFailedError extends Error {
  override readonly name = 'SwapFailedError';
}

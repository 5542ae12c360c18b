/**
 * Warm-up of a freshly loaded session, so the first real request after the swap does not pay for
 * lazy initialisation, and a model the device's applications cannot feed never takes traffic.
 */
import type * as ort from 'onnxruntime-node';
import { zeroFeeds, type InputSpec } from './tensors.js';
import type { ModelSession } from './worker-session.js';

export type SessionOptions = ort.InferenceSession.SessionOptions;

/** The new model does not take the inputs the device's applications send. */
export class InputSignatureMismatchError extends Error {
  override readonly name = 'InputSignatureMismatchError';
}

/**
 * Runs `runs` inferences on zero inputs shaped like `signature`: the inputs of the model serving
 * now (what the device's applications send), or the session's own when nothing serves yet.
 * @throws InputSignatureMismatchError when the input names differ; the session's error when a run fails.
 */
export async function warmUp(session: ModelSession, runs: number, signature: readonly InputSpec[] = session.inputs): Promise<void> {
  const expected = signature.map((i) => i.name).sort();
  const actual = session.inputs.map((i) => i.name).sort();
  if (expected.join('\u0000') !== actual.join('\u0000')) {
    throw new InputSignatureMismatchError(`the model takes inputs [${actual.join(', ')}] but the device's applications send [${expected.join(', ')}]`);
  }
  for (let i = 0; i < runs; i++) await session.run(zeroFeeds(signature), true);
}

/**
 * What a label means, for accuracy. A label travels with an inference and is compared with the
 * model's first output (in the model's output order):
 * - a number, when that output has more than one element: the expected class, i.e. the index of
 *   the largest element (argmax) — classification;
 * - a number, when that output has one element: the expected value — regression;
 * - an array of numbers: the expected values, element by element.
 * Values match within LABEL_TOLERANCE, relative to the expected value's magnitude (at least 1).
 */
import type { TensorData } from '../swap/tensors.js';

export type Label = number | readonly number[];

export const LABEL_TOLERANCE = 1e-4;

/** Whether `output` matches `label` (see the module comment). */
export function matchesLabel(output: TensorData, label: Label): boolean {
  if (typeof output.data[0] === 'string') return false;
  const values = Array.from(output.data as ArrayLike<number | bigint>, Number);
  if (Array.isArray(label)) return label.length === values.length && label.every((v, i) => close(values[i], v));
  const expected = label as number;
  if (values.length === 1) return close(values[0], expected);
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best === expected;
}

function close(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= LABEL_TOLERANCE * Math.max(1, Math.abs(expected));
}

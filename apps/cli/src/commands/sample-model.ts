import { writeFileSync } from 'node:fs';
import { makeAddModel } from '@hotswap/infrastructure';
import { UsageError } from './token.js';

/**
 * `hotswap sample-model --addend <n> --out <file>`: writes a tiny ONNX model computing
 * `y = x + n` (float32 [1, 4]), so a walkthrough can tell versions apart by their answers.
 */
export function sampleModel(args: readonly string[]): string {
  let addend: number | undefined;
  let out: string | undefined;
  for (let i = 0; i < args.length; i += 2) {
    const value = args[i + 1];
    if (args[i] === '--addend' && value !== undefined && Number.isFinite(Number(value))) addend = Number(value);
    else if (args[i] === '--out' && value) out = value;
    else throw new UsageError(`sample-model: unexpected ${args[i]}${value === undefined ? '' : ` ${value}`}`);
  }
  if (addend === undefined || !out) throw new UsageError('sample-model needs --addend <number> and --out <file>');
  writeFileSync(out, makeAddModel({ addend }));
  return out;
}

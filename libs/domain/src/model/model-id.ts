import { isValidSemver } from '../semver.js';

/**
 * The version of `name` that `modelId` (`<name>-<version>`) names, or undefined when it is not an
 * id of that name: `a` does not own `ab-1.0.0`, nor `a-latest`.
 */
export function versionOfModelId(name: string, modelId: string | null | undefined): string | undefined {
  if (typeof modelId !== 'string' || !modelId.startsWith(`${name}-`)) return undefined;
  const version = modelId.slice(name.length + 1);
  return isValidSemver(version) ? version : undefined;
}

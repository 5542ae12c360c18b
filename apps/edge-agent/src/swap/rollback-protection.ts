/**
 * Rollback protection: a device refuses a release older than the one it runs, so a replayed (but
 * validly signed) old command cannot take it back to a model with known flaws. Going back is
 * allowed only with the control plane's signed rollback instruction naming that exact artifact.
 */
import type { ReleaseManifest, SwapCommand } from '@hotswap/contracts';
import { verifyRollback } from '@hotswap/infrastructure';

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Semantic-version order (build metadata ignored), or undefined when either is not semver. */
export function compareSemver(a: string, b: string): number | undefined {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (pa === null || pb === null) return undefined;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  const [ra, rb] = [pa[4], pb[4]];
  if (ra === undefined || rb === undefined) return ra === rb ? 0 : ra === undefined ? 1 : -1;
  const [ia, ib] = [ra.split('.'), rb.split('.')];
  for (let i = 0; i < Math.min(ia.length, ib.length); i++) {
    const [x, y] = [ia[i], ib[i]];
    if (x === y) continue;
    const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    if (nx && ny) return Math.sign(Number(x) - Number(y));
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return Math.sign(ia.length - ib.length);
}

/**
 * Why `candidate` is older than `current`, or undefined when it is not: created earlier, or the
 * same model name at a lower semantic version.
 */
export function olderReason(candidate: ReleaseManifest, current: ReleaseManifest): string | undefined {
  if (candidate.modelId === current.modelId) return undefined;
  if (Date.parse(candidate.createdAt) < Date.parse(current.createdAt)) {
    return `${candidate.modelId} was created at ${candidate.createdAt}, before the active ${current.modelId} (${current.createdAt})`;
  }
  if (candidate.name === current.name && (compareSemver(candidate.version, current.version) ?? 0) < 0) {
    return `${candidate.name} ${candidate.version} is a lower version than the active ${current.version}`;
  }
  return undefined;
}

/**
 * Why the command may not replace the model with manifest `current`, or undefined when it may:
 * it is not older, or it carries a valid signed rollback instruction for its own artifact.
 */
export function rollbackRefusal(command: SwapCommand, current: ReleaseManifest | undefined, publicKeyPem: string, now: Date): string | undefined {
  if (current === undefined) return undefined;
  const manifest = command.release.manifest;
  const older = olderReason(manifest, current);
  if (older === undefined) return undefined;
  if (command.rollback === undefined) return `manifest rejected (rollback): ${older}; going back needs a signed rollback instruction`;
  const verdict = verifyRollback(command.rollback, publicKeyPem, { now });
  if (!verdict.ok) return `rollback instruction rejected (${verdict.reason}): ${verdict.message}`;
  const { instruction } = command.rollback;
  if (instruction.modelId !== command.modelId || instruction.sha256 !== manifest.sha256) {
    return `rollback instruction is for ${instruction.modelId} (sha256 ${instruction.sha256}), not ${command.modelId} (sha256 ${manifest.sha256})`;
  }
  return undefined;
}

/** Builds signed swap commands for generated models, as the distributor would. */
import { createHash, randomUUID } from 'node:crypto';
import type { ReleaseManifest, RollbackInstruction, SwapCommand } from '@hotswap/contracts';
import { signManifest, signRollback } from '@hotswap/infrastructure';

export interface ReleaseSpec {
  readonly name: string;
  readonly version: string;
  readonly artifact: Buffer;
  readonly artifactUrl: string;
  readonly privateKeyPem: string;
  /** Overrides applied to the manifest before signing. */
  readonly manifest?: Partial<ReleaseManifest>;
  readonly commandId?: string;
  readonly now?: Date;
  /** Attach a rollback instruction signed with `privateKeyPem`, for this artifact unless overridden. */
  readonly rollback?: true | Partial<RollbackInstruction>;
  /** Key that signs the rollback instruction. Default `privateKeyPem`. */
  readonly rollbackKeyPem?: string;
}

export function swapCommand(spec: ReleaseSpec): SwapCommand {
  const now = spec.now ?? new Date();
  const modelId = `${spec.name}-${spec.version}`;
  const manifest: ReleaseManifest = {
    modelId,
    name: spec.name,
    version: spec.version,
    sha256: createHash('sha256').update(spec.artifact).digest('hex'),
    sizeBytes: spec.artifact.length,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 3600_000).toISOString(),
    ...spec.manifest,
  };
  return {
    type: 'swap',
    commandId: spec.commandId ?? `cmd-${randomUUID()}`,
    modelId,
    artifactUrl: spec.artifactUrl,
    release: signManifest(manifest, spec.privateKeyPem),
    issuedAt: now.toISOString(),
    ...(spec.rollback
      ? {
          rollback: signRollback(
            {
              modelId,
              sha256: manifest.sha256,
              issuedAt: now.toISOString(),
              expiresAt: new Date(now.getTime() + 600_000).toISOString(),
              reason: 'test rollback',
              ...(spec.rollback === true ? {} : spec.rollback),
            },
            spec.rollbackKeyPem ?? spec.privateKeyPem,
          ),
        }
      : {}),
  };
}

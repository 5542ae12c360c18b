import { Inject, Injectable } from '@nestjs/common';
import { Queries, type DesiredModel, type ModelArtifactView, type SwapCommand } from '@hotswap/contracts';
import { SERVICE_RUNTIME, signManifest, signRollback, signUrl, type ServiceRuntime } from '@hotswap/infrastructure';
import { DISTRIBUTOR_OPTIONS, type DistributorOptions } from '../distributor.options.js';

/** An artifact store that can hand out direct download URLs (`S3ArtifactStore`). */
interface PresigningStore {
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
}

/** The longest a presigned S3 URL may live: 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** What the control plane wants a device to run (declared in the contracts: instances hand it to each other). */
export type { DesiredModel };

/** Builds swap commands with a fresh signed URL and a signed release manifest. */
@Injectable()
export class SwapCommands {
  private readonly artifactsByModel = new Map<string, ModelArtifactView>();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DISTRIBUTOR_OPTIONS) private readonly options: DistributorOptions,
  ) {}

  async build(desired: DesiredModel): Promise<SwapCommand> {
    const artifact = await this.artifact(desired.modelId);
    const now = this.runtime.clock();
    const expiresAt = new Date(now.getTime() + this.options.manifestTtlMs).toISOString();
    const release = signManifest({
      modelId: artifact.modelId, name: artifact.name, version: artifact.version, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes,
      createdAt: now.toISOString(), expiresAt,
    }, this.options.manifestPrivateKeyPem);
    // Devices refuse an older manifest unless the control plane signs the way back to this artifact.
    const rollback = desired.rollback ? signRollback({
      modelId: artifact.modelId, sha256: artifact.sha256, issuedAt: now.toISOString(), expiresAt,
      reason: `rollback distribution ${desired.distributionId ?? 'sync'}`,
    }, this.options.manifestPrivateKeyPem) : undefined;
    return {
      type: 'swap',
      commandId: desired.commandId,
      ...(desired.distributionId ? { distributionId: desired.distributionId } : {}),
      modelId: desired.modelId,
      artifactUrl: await this.artifactUrl(artifact.artifactKey, now),
      // The key lets a device on the NATS transport ask for the bytes on its own `.artifact` subject.
      artifactKey: artifact.artifactKey,
      ...(desired.transport ? { transport: desired.transport } : {}),
      release,
      issuedAt: now.toISOString(),
      ...(rollback ? { rollback } : {}),
    };
  }

  /** A presigned bucket URL when the store can make one (and it is wanted), else a signed gateway URL. */
  private async artifactUrl(key: string, now: Date): Promise<string> {
    const store = this.runtime.artifacts as Partial<PresigningStore>;
    if (this.options.presignArtifactUrls && typeof store.presignGet === 'function') {
      return store.presignGet(key, Math.min(MAX_PRESIGN_SECONDS, Math.max(1, Math.ceil(this.options.urlTtlMs / 1000))));
    }
    return signUrl(this.options.artifactBaseUrl, key, { expiresAt: new Date(now.getTime() + this.options.urlTtlMs), secret: this.options.urlSigningSecret });
  }

  /** Drops the cached artifact of a deleted model version. */
  forget(modelId: string): void {
    this.artifactsByModel.delete(modelId);
  }

  // A model version's artifact never changes once uploaded (a deleted one is forgotten), so it is cached.
  private async artifact(modelId: string): Promise<ModelArtifactView> {
    const cached = this.artifactsByModel.get(modelId);
    if (cached) return cached;
    const artifact = await this.runtime.bus.request<{ id: string }, ModelArtifactView>(Queries.getModelArtifact, { id: modelId }, { timeoutMs: 5_000 });
    this.artifactsByModel.set(modelId, artifact);
    return artifact;
  }
}

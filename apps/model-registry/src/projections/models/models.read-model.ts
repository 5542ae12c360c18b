import { Inject, Injectable } from '@nestjs/common';
import type { ListModelsQuery, ModelArtifactView, ModelView, Page } from '@hotswap/contracts';
import { ProjectedReadModel, SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { modelsProjection, toModelView, type ModelRow } from './models.projection.js';

/** Projects model events into `registry_models` and answers reads from it. */
@Injectable()
export class ModelsReadModel extends ProjectedReadModel {
  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime) {
    super(runtime, modelsProjection);
  }

  async get(id: string): Promise<ModelView | undefined> {
    const artifact = await this.getWithArtifact(id);
    if (!artifact) return undefined;
    const { artifactKey: _artifactKey, ...view } = artifact;
    return view;
  }

  async artifact(id: string): Promise<ModelArtifactView | undefined> {
    const m = await this.getWithArtifact(id);
    return m && { modelId: m.id, name: m.name, version: m.version, artifactKey: m.artifactKey, sha256: m.checksum, sizeBytes: m.sizeBytes };
  }

  async list(query: ListModelsQuery): Promise<Page<ModelView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.name) { params.push(query.name); where.push(`name = $${params.length}`); }
    if (query.status) { params.push(query.status); where.push(`status = $${params.length}`); }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.runtime.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM registry_models ${filter}`, params);
    params.push(query.limit ?? 50, query.offset ?? 0);
    const rows = await this.runtime.db.query<ModelRow>(
      `SELECT * FROM registry_models ${filter} ORDER BY name, uploaded_at DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    return {
      items: rows.rows.map((r) => { const { artifactKey: _k, ...view } = toModelView(r); return view; }),
      total: Number(total.rows[0]?.n ?? 0),
    };
  }

  private async getWithArtifact(id: string) {
    const rows = await this.runtime.db.query<ModelRow>('SELECT * FROM registry_models WHERE id = $1', [id]);
    return rows.rows[0] ? toModelView(rows.rows[0]) : undefined;
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { ListModelsQuery, ModelArtifactView, ModelVersionsView, ModelView, Page } from '@hotswap/contracts';
import { compareSemver } from '@hotswap/domain';
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
      items: rows.rows.map(withoutArtifactKey),
      total: Number(total.rows[0]?.n ?? 0),
    };
  }

  /** Every version of `name`, newest by semver first; equal precedence (build metadata) newest upload first. */
  async versions(name: string): Promise<ModelVersionsView> {
    const rows = await this.runtime.db.query<ModelRow>('SELECT * FROM registry_models WHERE name = $1 ORDER BY uploaded_at DESC, id', [name]);
    const items = rows.rows.map(withoutArtifactKey).sort((a, b) => compareSemver(b.version, a.version));
    return { name, items, total: items.length };
  }

  /** One version of `name`; matched on both, since `<name>-<version>` ids alone can be ambiguous. */
  async version(name: string, version: string): Promise<ModelView | undefined> {
    const rows = await this.runtime.db.query<ModelRow>('SELECT * FROM registry_models WHERE name = $1 AND version = $2', [name, version]);
    return rows.rows[0] && withoutArtifactKey(rows.rows[0]);
  }

  /** Of `ids`, those registered under a model name other than `name`. */
  async idsOfOtherNames(ids: readonly string[], name: string): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.runtime.db.query<{ id: string }>('SELECT id FROM registry_models WHERE id = ANY($1) AND name <> $2', [ids, name]);
    return new Set(rows.rows.map((r) => r.id));
  }

  private async getWithArtifact(id: string) {
    const rows = await this.runtime.db.query<ModelRow>('SELECT * FROM registry_models WHERE id = $1', [id]);
    return rows.rows[0] ? toModelView(rows.rows[0]) : undefined;
  }
}

function withoutArtifactKey(row: ModelRow): ModelView {
  const { artifactKey: _artifactKey, ...view } = toModelView(row);
  return view;
}

import type { ModelEvent, ModelMetadata, ModelView } from '@hotswap/contracts';
import type { Projection, SqlExecutor, StoredEvent } from '@hotswap/infrastructure';

/**
 * The registry's read model of models: one row per model version. A deleted version's row is
 * removed (the event store keeps who deleted what), so list, get and versions never show it and
 * a new upload of the id inserts afresh.
 */
export const modelsProjection: Projection = {
  name: 'model-registry.models',
  eventTypes: ['ModelUploaded', 'ModelValidationStarted', 'ModelValidated', 'ModelRejected', 'ModelDeprecated', 'ModelVersionDeleted'],
  migrations: [
    `CREATE TABLE IF NOT EXISTS registry_models (
       id text PRIMARY KEY,
       name text NOT NULL,
       version text NOT NULL,
       framework text NOT NULL,
       status text NOT NULL,
       checksum text NOT NULL,
       size_bytes bigint NOT NULL,
       artifact_key text NOT NULL,
       metadata jsonb NOT NULL,
       uploaded_at timestamptz NOT NULL,
       uploaded_by text NOT NULL
     )`,
    `CREATE INDEX IF NOT EXISTS registry_models_name ON registry_models (name)`,
    `ALTER TABLE registry_models ADD COLUMN IF NOT EXISTS deprecated_at timestamptz`,
    `ALTER TABLE registry_models ADD COLUMN IF NOT EXISTS deprecated_by text`,
    `ALTER TABLE registry_models ADD COLUMN IF NOT EXISTS deprecation_reason text`,
  ],
  async apply(tx: SqlExecutor, events: readonly StoredEvent[]): Promise<void> {
    for (const stored of events) {
      const event = { type: stored.type, data: stored.data } as ModelEvent;
      switch (event.type) {
        case 'ModelUploaded': {
          const d = event.data;
          await tx.query(
            `INSERT INTO registry_models (id, name, version, framework, status, checksum, size_bytes, artifact_key, metadata, uploaded_at, uploaded_by)
             VALUES ($1, $2, $3, $4, 'Uploaded', $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO NOTHING`,
            [d.modelId, d.name, d.version, d.framework, d.sha256, d.sizeBytes, d.artifactKey, JSON.stringify(d.metadata), d.uploadedAt,
              actorOf(stored)],
          );
          break;
        }
        // The status follows validation: Validating while a run goes on, then its verdict.
        case 'ModelValidationStarted':
        case 'ModelValidated':
        case 'ModelRejected':
          await tx.query('UPDATE registry_models SET status = $2 WHERE id = $1', [event.data.modelId, MODEL_STATUS_AFTER[event.type]]);
          break;
        case 'ModelDeprecated':
          await tx.query(
            `UPDATE registry_models SET status = 'Deprecated', deprecated_at = $2, deprecated_by = $3, deprecation_reason = $4 WHERE id = $1`,
            [event.data.modelId, event.data.at, actorOf(stored), event.data.reason ?? null],
          );
          break;
        case 'ModelVersionDeleted':
          await tx.query('DELETE FROM registry_models WHERE id = $1', [event.data.modelId]);
          break;
        default:
          break;
      }
    }
  },
};

function actorOf(stored: StoredEvent): string {
  return String(stored.metadata?.['actor'] ?? 'unknown');
}

const MODEL_STATUS_AFTER = { ModelValidationStarted: 'Validating', ModelValidated: 'Validated', ModelRejected: 'Rejected' } as const;

export interface ModelRow {
  id: string; name: string; version: string; framework: ModelView['framework']; status: ModelView['status'];
  checksum: string; size_bytes: string | number; artifact_key: string; metadata: ModelMetadata | string;
  uploaded_at: Date | string; uploaded_by: string;
  deprecated_at?: Date | string | null; deprecated_by?: string | null; deprecation_reason?: string | null;
}

export function toModelView(row: ModelRow): ModelView & { artifactKey: string } {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    framework: row.framework,
    status: row.status,
    checksum: row.checksum,
    sizeBytes: Number(row.size_bytes),
    metadata: typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as ModelMetadata) : row.metadata,
    uploadedAt: new Date(row.uploaded_at).toISOString(),
    uploadedBy: row.uploaded_by,
    ...(row.deprecated_at ? { deprecatedAt: new Date(row.deprecated_at).toISOString() } : {}),
    ...(row.deprecated_by ? { deprecatedBy: row.deprecated_by } : {}),
    ...(row.deprecation_reason ? { deprecationReason: row.deprecation_reason } : {}),
    artifactKey: row.artifact_key,
  };
}

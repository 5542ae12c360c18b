import { Inject, Injectable, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, FRAMEWORKS, invalidIdReason, modelId as toModelId, queueGroup, Services, Streams,
  type ModelView, type UploadModelCommand,
} from '@hotswap/contracts';
import { modelDecider, type ModelCommand } from '@hotswap/domain';
import {
  activeTraceparent, handleCommand, loadState, modelAttributes, SERVICE_RUNTIME, Spans, withSpan, type BusSubscription, type ServiceRuntime, type ValidationResult,
} from '@hotswap/infrastructure';
import {
  DEFAULT_INSPECTION_LIMITS, inspectArtifact, storedArtifactSource, type InspectionLimits,
} from '../../inspection/artifact-inspector.js';
import { ModelsReadModel } from '../../projections/models/models.read-model.js';

/** Injection token of the registry's `InspectionLimits` (ZIP entries, size, ratio); defaults otherwise. */
export const INSPECTION_LIMITS = Symbol('INSPECTION_LIMITS');

/**
 * `UploadModel`: the gateway has streamed the artifact to a staging key; the registry checks its
 * format (streaming, in bounded memory), moves it under its content address, and records
 * `ModelUploaded`. A refused upload leaves no artifact and no event behind.
 */
@Injectable()
export class UploadModelHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly models: ModelsReadModel,
    @Optional() @Inject(INSPECTION_LIMITS) private readonly limits: InspectionLimits = DEFAULT_INSPECTION_LIMITS,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.uploadModel, {
      queue: queueGroup(Services.modelRegistry),
      validate: validateUploadModel,
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  /** In a `model.upload` span; the recorded `ModelUploaded` carries it, so validation continues its trace. */
  async execute(command: UploadModelCommand, traceparent?: string): Promise<ModelView> {
    const started = performance.now();
    const id = toModelId(command.name, command.version);
    const view = await withSpan(Spans.modelUpload, modelAttributes({ id, version: command.version, checksum: command.sha256 }),
      () => this.upload(command, id, traceparent));
    this.runtime.metrics?.counters.modelsUploaded.add(1);
    this.runtime.metrics?.histograms.modelUploadDuration.record(performance.now() - started);
    return view;
  }

  private async upload(command: UploadModelCommand, id: string, traceparent?: string): Promise<ModelView> {
    const { artifacts, eventStore, clock } = this.runtime;
    const finalKey = `models/${command.name}/${command.version}/${command.sha256}.${command.framework}`;
    try {
      const staged = await artifacts.stat(command.stagingKey);
      if (!staged) throw Object.assign(new Error(`staged artifact ${command.stagingKey} not found`), { code: 'BAD_REQUEST' });
      const inspected = await inspectArtifact(
        command.framework, storedArtifactSource(artifacts, command.stagingKey, staged.sizeBytes), this.limits,
      );
      // Decide before moving bytes, so a duplicate id is refused without touching storage.
      const upload = (): ModelCommand => ({
        type: 'UploadModel',
        data: {
          modelId: id, name: command.name, version: command.version, framework: command.framework,
          sha256: staged.sha256, sizeBytes: staged.sizeBytes, artifactKey: finalKey,
          metadata: { ...inspected, ...command.metadata },
        },
        metadata: { now: clock().toISOString() },
      });
      modelDecider.decide(upload(), (await loadState(eventStore, Streams.model(id), modelDecider)).state);
      await artifacts.move(command.stagingKey, finalKey);
      let result: Awaited<ReturnType<typeof handleCommand>>;
      try {
        result = await handleCommand(eventStore, Streams.model(id), modelDecider, upload(), {
          actor: command.actor, traceparent: activeTraceparent() ?? traceparent, now: clock().toISOString(),
        });
      } catch (error) {
        // A concurrent upload of the same id won: drop our copy unless it is the winner's (same bytes, same key).
        const winner = (await loadState(eventStore, Streams.model(id), modelDecider)).state;
        if ((winner as { artifactKey?: string }).artifactKey !== finalKey) await artifacts.delete(finalKey);
        throw error;
      }
      if (result.position !== undefined) await this.models.waitFor(result.position);
      const view = await this.models.get(id);
      if (!view) throw new Error(`model ${id} was recorded but is not in the read model`);
      return view;
    } finally {
      await artifacts.delete(command.stagingKey);
    }
  }
}

function validateUploadModel(payload: unknown): ValidationResult<UploadModelCommand> {
  const p = payload as Partial<UploadModelCommand> | null;
  const problems: string[] = [];
  if (!p || typeof p !== 'object') return { ok: false, reason: 'payload must be an object' };
  const nameProblem = invalidIdReason('model name', p.name);
  if (nameProblem) problems.push(nameProblem);
  if (typeof p.version !== 'string') problems.push('version is required');
  if (!FRAMEWORKS.includes(p.framework as never)) problems.push(`framework must be one of ${FRAMEWORKS.join(', ')}`);
  if (typeof p.stagingKey !== 'string' || !p.stagingKey.startsWith('staging/')) problems.push('stagingKey must name a staging artifact');
  if (typeof p.actor !== 'string' || p.actor === '') problems.push('actor is required');
  if (p.metadata !== undefined && (typeof p.metadata !== 'object' || p.metadata === null)) problems.push('metadata must be an object');
  return problems.length ? { ok: false, reason: problems.join('; ') } : { ok: true, value: { metadata: {}, ...p } as UploadModelCommand };
}

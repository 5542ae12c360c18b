import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  Commands, DATASET_TASKS, MODEL_NAME_PATTERN, queueGroup, Services, Streams,
  type DatasetTask, type DatasetView, type RegisterDatasetCommand, type StagedDataset,
} from '@hotswap/contracts';
import { checkDataset, datasetDecider } from '@hotswap/domain';
import { handleCommand, SERVICE_RUNTIME, type BusSubscription, type ServiceRuntime, type ValidationResult } from '@hotswap/infrastructure';
import { datasetKey, readStaged, serializeDataset } from '../../datasets/dataset-files.js';
import { Datasets, toView } from '../../projections/datasets/datasets.read-model.js';

/**
 * `RegisterDataset`: reads the files the gateway staged, checks the dataset (BAD_REQUEST naming
 * the field), stores it as `datasets/<id>.json` and records `DatasetRegistered`. The staged files
 * are removed whatever happens; a stored file whose event could not be appended is removed too.
 */
@Injectable()
export class RegisterDatasetHandler implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime, private readonly datasets: Datasets) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.registerDataset, {
      queue: queueGroup(Services.validator),
      validate: validateRegisterDataset,
      handler: (command, ctx) => this.execute(command, ctx.traceparent),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
  }

  async execute(command: RegisterDatasetCommand, traceparent?: string): Promise<DatasetView> {
    const staged = command.staged.format === 'json' ? [command.staged.key] : [...Object.values(command.staged.inputs), command.staged.labels];
    const datasetId = `ds-${randomUUID()}`;
    const artifactKey = datasetKey(datasetId);
    let stored = false;
    try {
      const subject = `dataset ${command.name}`;
      const dataset = checkDataset(subject, await readStaged(this.runtime.artifacts, command.staged, subject), { task: command.task, tolerance: command.tolerance });
      const file = await this.runtime.artifacts.put(artifactKey, Readable.from([Buffer.from(serializeDataset(dataset))]));
      stored = true;
      const now = this.runtime.clock().toISOString();
      const result = await handleCommand(this.runtime.eventStore, Streams.dataset(datasetId), datasetDecider, {
        type: 'RegisterDataset',
        data: {
          datasetId, name: command.name, task: dataset.task,
          ...(dataset.tolerance !== undefined ? { tolerance: dataset.tolerance } : {}),
          ...(command.output !== undefined ? { output: command.output } : {}),
          inputs: dataset.inputs.map(({ name, type, dims }) => ({ name, type, dims })),
          samples: dataset.samples, artifactKey, sha256: file.sha256, sizeBytes: file.sizeBytes,
        },
        metadata: { now },
      }, { actor: command.actor, traceparent, now });
      stored = false;
      if (result.position !== undefined) await this.datasets.waitFor(result.position);
      const registered = result.events[0]!.data;
      return toView({ ...registered, registeredBy: command.actor });
    } finally {
      if (stored) await this.runtime.artifacts.delete(artifactKey).catch(() => undefined);
      await Promise.all(staged.map((key) => this.runtime.artifacts.delete(key).catch(() => undefined)));
    }
  }
}

const STAGING_KEY = /^staging\/[A-Za-z0-9._/-]{1,300}$/;

/** The command's envelope; the dataset itself is checked by `checkDataset` once read. */
export function validateRegisterDataset(payload: unknown): ValidationResult<RegisterDatasetCommand> {
  const { actor, name, task, tolerance, output, staged } = (payload ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof actor !== 'string' || actor === '') problems.push('actor is required');
  if (typeof name !== 'string' || !MODEL_NAME_PATTERN.test(name)) problems.push('name must be letters, digits, ".", "_" or "-", starting with a letter or digit (max 100)');
  if (task !== undefined && !DATASET_TASKS.includes(task as DatasetTask)) problems.push(`task must be one of ${DATASET_TASKS.join(', ')}`);
  if (tolerance !== undefined && (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0)) problems.push('tolerance must be a number >= 0');
  if (output !== undefined && (typeof output !== 'string' || output === '' || output.length > 200)) problems.push('output must be a non-empty string of at most 200 characters');
  const s = (staged ?? {}) as Partial<Record<string, unknown>>;
  const inputs = s['inputs'] as Record<string, unknown> | undefined;
  const stagedOk = s['format'] === 'json'
    ? typeof s['key'] === 'string' && STAGING_KEY.test(s['key'])
    : s['format'] === 'npy' && typeof inputs === 'object' && inputs !== null && Object.keys(inputs).length > 0
      && Object.values(inputs).every((k) => typeof k === 'string' && STAGING_KEY.test(k)) && typeof s['labels'] === 'string' && STAGING_KEY.test(s['labels']);
  if (!stagedOk) problems.push('staged must be { format: "json", key } or { format: "npy", inputs, labels } with keys under staging/');
  if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
  return {
    ok: true,
    value: {
      actor: actor as string, name: name as string, staged: staged as StagedDataset,
      ...(task !== undefined ? { task: task as DatasetTask } : {}),
      ...(tolerance !== undefined ? { tolerance: tolerance as number } : {}),
      ...(output !== undefined ? { output: output as string } : {}),
    },
  };
}

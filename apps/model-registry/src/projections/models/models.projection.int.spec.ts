import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Queries, Streams, type ListModelsQuery, type ModelView, type Page } from '@hotswap/contracts';
import { modelDecider, type ModelCommand } from '@hotswap/domain';
import { handleCommand } from '@hotswap/infrastructure';
import { startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '../../model-registry.module.js';

let t: TestRuntime;
let registry: INestApplicationContext;
const modelId = 'adder-1.0.0';

const run = (command: Omit<ModelCommand, 'metadata'>) => {
  const now = t.clock.now().toISOString();
  return handleCommand(t.runtime.eventStore, Streams.model(modelId), modelDecider, { ...command, metadata: { now } } as ModelCommand, { actor: 'system:validator', now });
};
const list = (query: ListModelsQuery) => t.runtime.bus.request<ListModelsQuery, Page<ModelView>>(Queries.listModels, query, { timeoutMs: 5_000 });

async function statusBecomes(status: ModelView['status']): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await list({ status })).items.map((m) => m.id).join() !== modelId) {
    if (Date.now() > deadline) throw new Error(`${modelId} did not become ${status}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  t = await startTestRuntime();
  registry = await NestFactory.createApplicationContext(ModelRegistryModule.register(t.runtime), { logger: false });
  await registry.init();
}, 30_000);

afterAll(async () => {
  await registry?.close();
  await t?.cleanup();
});

describe('model registry - the models read model follows validation', () => {
  it('shows Uploaded, Validating, then the verdict, so GET /models?status= filters by it', async () => {
    await run({ type: 'UploadModel', data: { modelId, name: 'adder', version: '1.0.0', framework: 'onnx', sha256: 'a'.repeat(64), sizeBytes: 1, artifactKey: 'k', metadata: {} } });
    await statusBecomes('Uploaded');
    await run({ type: 'StartValidation', data: { modelId, validationId: 'v-1', trigger: 'upload', ranOn: 'validator' } });
    await statusBecomes('Validating');
    // No step recorded: nothing was measured, so the gate rejects.
    await run({ type: 'CompleteValidation', data: { modelId, validationId: 'v-1' } });
    await statusBecomes('Rejected');
    expect((await list({ status: 'Validated' })).total).toBe(0);
    await run({ type: 'StartValidation', data: { modelId, validationId: 'v-2', trigger: 'request', ranOn: 'validator' } });
    await statusBecomes('Validating');
  });
});

import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Commands, Queries, Streams, type ModelVersionsView, type ModelView, type UploadModelCommand } from '@hotswap/contracts';
import type { BusSubscription, ValidationResult } from '@hotswap/infrastructure';
import { makeAddModel, startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '../model-registry.module.js';
import { ModelsReadModel } from '../projections/models/models.read-model.js';
import { DeleteModelVersionHandler } from '../commands/delete-model-version/delete-model-version.handler.js';
import { RetentionHandler } from './retention.handler.js';

/**
 * The retention policy's periodic run on real NATS, JetStream and PGlite; the device registry and
 * the distributor are played on NATS (nothing runs anywhere), so only the rules decide.
 */
let t: TestRuntime;
let app: INestApplicationContext;
let peers: BusSubscription[];

const ask = <T>(subject: string, payload: object) => t.runtime.bus.request<object, T>(subject, payload, { timeoutMs: 10_000 });
const any = (payload: unknown): ValidationResult<unknown> => ({ ok: true, value: payload });

async function upload(name: string, version: string): Promise<ModelView> {
  const stagingKey = `staging/${name}-${version}`;
  const staged = await t.runtime.artifacts.put(stagingKey, Readable.from([makeAddModel({ addend: 1 })]));
  return ask<ModelView>(Commands.uploadModel, {
    actor: 'alice', name, version, framework: 'onnx', metadata: {}, stagingKey, sha256: staged.sha256, sizeBytes: staged.sizeBytes,
  } satisfies UploadModelCommand);
}

beforeAll(async () => {
  t = await startTestRuntime();
  peers = await Promise.all([
    t.runtime.bus.handle(Queries.listDevices, { validate: any, handler: () => ({ items: [], total: 0 }) }),
    t.runtime.bus.handle(Queries.distributionsUsingModel, { validate: any, handler: () => ({ items: [] }) }),
  ]);
  app = await NestFactory.createApplicationContext(
    ModelRegistryModule.register(t.runtime, { retention: { policy: { keepLatest: 2 }, intervalMs: 200 } }), { logger: false },
  );
  await app.init();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await Promise.all((peers ?? []).map((p) => p.close()));
  await t?.cleanup();
});

describe('retention policy - schedule', () => {
  it('runs by itself every interval once a rule is set, deleting as retention-policy', async () => {
    for (const version of ['1.0.0', '1.1.0', '1.2.0']) await upload('tiny', version);
    const deadline = Date.now() + 10_000;
    let left: string[] = [];
    while (Date.now() < deadline) {
      left = (await ask<ModelVersionsView>(Queries.listModelVersions, { name: 'tiny' })).items.map((v) => v.version);
      if (left.length === 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(left).toEqual(['1.2.0', '1.1.0']);
    const history = await t.runtime.eventStore.readStream(Streams.model('tiny-1.0.0'));
    expect(history.at(-1)).toMatchObject({ type: 'ModelVersionDeleted', metadata: { actor: 'retention-policy' } });
  });

  it('refuses to run while the policy has no rule', async () => {
    const off = new RetentionHandler(t.runtime, { policy: {}, intervalMs: 200 }, app.get(ModelsReadModel), app.get(DeleteModelVersionHandler));
    await expect(off.handle({ actor: 'admin', dryRun: true })).rejects.toMatchObject({
      code: 'CONFLICT', message: 'the retention policy is off: set HOTSWAP_RETENTION_KEEP_LATEST and/or HOTSWAP_RETENTION_MAX_AGE',
    });
  });
});

import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import { Commands, Streams, type ModelView, type UploadModelCommand } from '@hotswap/contracts';
import { RemoteError } from '@hotswap/infrastructure';
import { startTestRuntime, type TestRuntime } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule, type ModelRegistryOptions } from '../model-registry.module.js';
import { buildZip } from './fixtures.js';
import { inspectionLimitsFromEnv } from './inspection-config.js';

let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime();
}, 30_000);

afterAll(async () => {
  await t?.cleanup();
});

/** Uploads `bytes` to a registry configured with `options`, which runs only for this upload. */
async function uploadTo(options: ModelRegistryOptions, name: string, bytes: Buffer): Promise<ModelView | RemoteError> {
  const app = await NestFactory.createApplicationContext(ModelRegistryModule.register(t.runtime, options), { logger: false });
  await app.init();
  try {
    const stagingKey = `staging/${name}`;
    const stored = await t.runtime.artifacts.put(stagingKey, Readable.from([bytes]));
    const command: UploadModelCommand = { actor: 'alice', name, version: '1.0.0', framework: 'zip', metadata: {}, stagingKey, sha256: stored.sha256, sizeBytes: stored.sizeBytes };
    return await t.runtime.bus.request<UploadModelCommand, ModelView>(Commands.uploadModel, command, { timeoutMs: 10_000 });
  } catch (error) {
    return error as RemoteError;
  } finally {
    await app.close();
  }
}

const threeEntries = buildZip(['a.txt', 'b.txt', 'c.txt'].map((name) => ({ name, data: Buffer.from(name) })));

describe('model registry - ZIP inspection limits from the configuration', () => {
  it('refuses an archive over a lowered HOTSWAP_ZIP_MAX_ENTRIES that the default limits accept, leaving nothing behind', async () => {
    const limits = inspectionLimitsFromEnv({ HOTSWAP_ZIP_MAX_ENTRIES: '2' });
    const refused = await uploadTo({ inspectionLimits: limits }, 'bundle-small', threeEntries);
    expect(refused).toBeInstanceOf(RemoteError);
    expect(refused).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('it declares 3 entries, more than the limit of 2') });
    expect(await t.runtime.eventStore.readStream(Streams.model('bundle-small-1.0.0'))).toEqual([]);
    expect(await t.runtime.artifacts.exists('staging/bundle-small')).toBe(false);

    await expect(uploadTo({}, 'bundle-default', threeEntries)).resolves.toMatchObject({ id: 'bundle-default-1.0.0', framework: 'zip' });
  });

  it('refuses an archive over a lowered HOTSWAP_ZIP_MAX_UNCOMPRESSED_BYTES', async () => {
    const limits = inspectionLimitsFromEnv({ HOTSWAP_ZIP_MAX_UNCOMPRESSED_BYTES: '10' });
    await expect(uploadTo({ inspectionLimits: limits }, 'bundle-bytes', threeEntries)).resolves
      .toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('it declares more than 10 bytes uncompressed') });
  });

  it('refuses a limit that is not > 0 when the module is registered, naming it', () => {
    expect(() => ModelRegistryModule.register(t.runtime, { inspectionLimits: { maxCompressionRatio: 0 } }))
      .toThrow('ModelRegistryOptions.inspectionLimits.maxCompressionRatio must be a number > 0, got 0');
  });
});

describe('inspectionLimitsFromEnv', () => {
  it('keeps the defaults for unset variables and parses the set ones', () => {
    expect(inspectionLimitsFromEnv({})).toEqual({ maxEntries: 100_000, maxUncompressedBytes: 64 * 1024 ** 3, maxCompressionRatio: 200 });
    expect(inspectionLimitsFromEnv({ HOTSWAP_ZIP_MAX_ENTRIES: '10', HOTSWAP_ZIP_MAX_UNCOMPRESSED_BYTES: '1048576', HOTSWAP_ZIP_MAX_RATIO: '12.5' }))
      .toEqual({ maxEntries: 10, maxUncompressedBytes: 1_048_576, maxCompressionRatio: 12.5 });
  });

  it('refuses bad values, naming every variable', () => {
    expect(() => inspectionLimitsFromEnv({ HOTSWAP_ZIP_MAX_ENTRIES: 'many', HOTSWAP_ZIP_MAX_UNCOMPRESSED_BYTES: '0', HOTSWAP_ZIP_MAX_RATIO: '-1' }))
      .toThrow(/HOTSWAP_ZIP_MAX_ENTRIES[^\n]*must be an integer[\s\S]*HOTSWAP_ZIP_MAX_UNCOMPRESSED_BYTES[^\n]*must be at least 1[\s\S]*HOTSWAP_ZIP_MAX_RATIO[^\n]*must be a number > 0/);
  });
});

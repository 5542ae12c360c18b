import { describe, it, expect } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ELEMENT_TYPES, makeIdentityModel, type ElementType } from '@hotswap/infrastructure/testing';
import { loadSession, warmUp, zeroFeeds } from './model-loader.js';

describe('model loader', () => {
  it('warms up a model with zero inputs of every element type, symbolic dimensions as 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loader-'));
    try {
      const types = Object.keys(ELEMENT_TYPES) as ElementType[];
      const path = join(dir, 'model.onnx');
      await writeFile(path, makeIdentityModel(types.map((type) => ({ name: type, type, shape: ['batch', 3, -1] }))));
      const session = await loadSession(path, { intraOpNumThreads: 1 });
      try {
        const feeds = zeroFeeds(session);
        expect(Object.keys(feeds)).toEqual(types);
        for (const type of types) {
          expect(feeds[type].type).toBe(type);
          expect(feeds[type].dims).toEqual([1, 3, 1]);
        }
        expect(Array.from(feeds.float32.data as Float32Array)).toEqual([0, 0, 0]);
        await expect(warmUp(session, 2)).resolves.toBeUndefined();
        await expect(warmUp(session, 0)).resolves.toBeUndefined();
      } finally {
        await session.release();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
